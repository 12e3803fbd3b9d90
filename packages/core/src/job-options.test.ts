import { describe, expect, it } from 'vitest';
import {
  JOB_OPTIONS,
  jobOptionFields,
  jobOptionsOf,
  RUN_OPTION_FIELDS,
  runFieldsOfTask,
  taskDefaultOptions,
} from './job-options.js';

describe('the per-job options table', () => {
  it('turns enqueue options into package fields and back', () => {
    const options = {
      queue: 'emails',
      priority: 7,
      timeout: '2s',
      softTimeout: 1,
      maxAttempts: 3,
      ackFailure: true,
      saveResult: false,
      retry: { attempts: 2 },
      hook: { name: 'audit.log' },
    };
    const fields = jobOptionFields(options, 'test');
    expect(fields).toEqual({
      queue: 'emails',
      priority: 7,
      timeoutMs: 2_000,
      softTimeoutMs: 1_000,
      maxAttempts: 3,
      ackFailure: true,
      saveResult: false,
      retry: { attempts: 2 },
      hook: 'audit.log',
    });
    expect(jobOptionFields(jobOptionsOf(fields), 'test')).toEqual(fields);
  });

  it('refuses an unusable value with an error that names the option', () => {
    expect(() => jobOptionFields({ maxAttempts: 'three' }, 'the enqueue options of mail.send')).toThrow(
      'the enqueue options of mail.send: maxAttempts must be a whole number ≥ 0, got "three"',
    );
    expect(() => jobOptionFields({ ackFailure: 'yes' }, 'x')).toThrow('x: ackFailure must be true or false');
    expect(() => jobOptionFields({ timeout: 'soon' }, 'x')).toThrow('timeout: "soon" is not a duration');
  });

  it('takes a task default for every option but the hook, and gives the runtime the run settings', () => {
    expect(JOB_OPTIONS.filter((spec) => !spec.taskDefault).map((spec) => spec.option)).toEqual(['hook']);
    expect(taskDefaultOptions({ queue: 'q', timeout: 5, rateLimit: '1/s' })).toEqual({
      queue: 'q',
      timeout: 5,
    });
    expect(RUN_OPTION_FIELDS).toEqual([
      'timeoutMs',
      'softTimeoutMs',
      'maxAttempts',
      'ackFailure',
      'saveResult',
      'retry',
    ]);
    // A task's unreadable duration is not applied by the runtime (the client refuses it at enqueue).
    expect(runFieldsOfTask({ timeout: 'soon', maxAttempts: 2, queue: 'q' })).toEqual({ maxAttempts: 2 });
  });
});
