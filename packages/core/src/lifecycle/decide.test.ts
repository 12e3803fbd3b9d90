import type { TaskResult } from '../result-backend.js';
import type { TaskPackage } from '../task-package.js';
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from './backoff.js';
import { cancelledRunResult, decideAfterFailedStep, decideOutcome, type OutcomeSettings } from './decide.js';

const settings: OutcomeSettings = { maxAttempts: 0, ackFailures: false, saveLimit: 250, retryMs: 60_000 };
const pkg = (extra: Partial<TaskPackage> = {}): TaskPackage => ({
  id: 'job-1',
  name: 'demo.task',
  args: [],
  queue: 'default',
  enqueuedAt: 0,
  ...extra,
});
const success: TaskResult = {
  id: 'job-1',
  name: 'demo.task',
  queue: 'default',
  status: 'success',
  result: 1,
  attempts: 1,
  enqueuedAt: 0,
  startedAt: 0,
  stoppedAt: 1,
};
const failure = (name = 'Error'): TaskResult => ({
  ...success,
  status: 'failure',
  result: undefined,
  error: { name, message: 'boom' },
});

describe('decideOutcome', () => {
  it('acks and saves a job cancelled or expired before it started, without its chain or hook', () => {
    const chained = pkg({
      hook: { name: 'demo.hook', args: [] } as never,
      retry: { max: 5 } as never,
      maxAttempts: 3,
    });
    for (const [notStarted, name] of [
      ['cancelled', 'JobCancelledError'],
      ['expired', 'JobExpiredError'],
    ] as const) {
      expect(
        decideOutcome({ pkg: chained, result: failure(name), deliveries: 9, notStarted }, settings),
      ).toEqual({ action: { kind: 'ack' }, save: true, final: false });
    }
  });

  it('acks and saves a run cancelled while it ran, never retrying or dead-lettering it, without follow-ups', () => {
    const chained = pkg({
      hook: { name: 'demo.hook', args: [] } as never,
      retry: { max: 5 } as never,
      maxAttempts: 1,
    });
    for (const name of ['AbortError', 'TaskTimeoutError', 'Error']) {
      expect(
        decideOutcome(
          { pkg: chained, result: failure(name), deliveries: 1, cancelledWhileRunning: true },
          settings,
        ),
      ).toEqual({ action: { kind: 'ack' }, save: true, final: false });
    }
  });

  it('stores a run that returned after its cancel as cancelled too, without follow-ups', () => {
    expect(
      decideOutcome(
        {
          pkg: pkg({ chain: [{ name: 'demo.next', args: [] }] as never }),
          result: success,
          deliveries: 1,
          cancelledWhileRunning: true,
        },
        settings,
      ),
    ).toEqual({ action: { kind: 'ack' }, save: true, final: false });
    const stored = cancelledRunResult(success, 'stop');
    expect(stored).toMatchObject({ status: 'failure', error: { name: 'JobCancelledError' } });
    expect(stored).not.toHaveProperty('result');
  });

  it('stores a cancelled run as JobCancelledError naming the reason and how the run ended', () => {
    const stored = cancelledRunResult(failure('AbortError'), 'no longer needed');
    expect(stored.status).toBe('failure');
    expect(stored.error?.name).toBe('JobCancelledError');
    expect(stored.error?.message).toContain('no longer needed');
    expect(stored.error?.message).toContain('AbortError: boom');
    expect(stored.attempts).toBe(1);
  });

  it('acks and saves a success, and runs its follow-ups', () => {
    expect(decideOutcome({ pkg: pkg(), result: success, deliveries: 1 }, settings)).toEqual({
      action: { kind: 'ack' },
      save: true,
      final: true,
    });
  });

  it('does not save a success when saveResult is false or saveLimit is -1', () => {
    expect(
      decideOutcome({ pkg: pkg({ saveResult: false }), result: success, deliveries: 1 }, settings).save,
    ).toBe(false);
    expect(
      decideOutcome({ pkg: pkg(), result: success, deliveries: 1 }, { ...settings, saveLimit: -1 }).save,
    ).toBe(false);
  });

  it('saves a chord member whatever saveResult and saveLimit say: its callback is built from them', () => {
    const member = pkg({
      saveResult: false,
      group: 'g',
      groupIndex: 0,
      chord: { callback: { id: 'cb', name: 'test.sum', args: [] }, size: 2 },
    });
    expect(
      decideOutcome({ pkg: member, result: success, deliveries: 1 }, { ...settings, saveLimit: -1 }).save,
    ).toBe(true);
  });

  it('releases a failure after `retry`, and saves it only when attempts are unlimited', () => {
    const unlimited = decideOutcome({ pkg: pkg(), result: failure(), deliveries: 1 }, settings);
    expect(unlimited).toEqual({
      action: { kind: 'release', delayMs: 60_000, reason: 'Error: boom' },
      save: true,
      final: false,
    });
    const limited = decideOutcome(
      { pkg: pkg(), result: failure(), deliveries: 1 },
      { ...settings, maxAttempts: 3 },
    );
    expect(limited.save).toBe(false);
  });

  it('dead-letters a failure at maxAttempts (the package overrides the configuration)', () => {
    const decision = decideOutcome(
      { pkg: pkg({ maxAttempts: 2 }), result: failure(), deliveries: 2 },
      settings,
    );
    expect(decision).toEqual({
      action: { kind: 'dead-letter', reason: 'failed after 2 attempts: Error: boom' },
      save: true,
      final: true,
    });
  });

  it('acks a failure with ackFailure / ackFailures', () => {
    expect(
      decideOutcome({ pkg: pkg({ ackFailure: true }), result: failure(), deliveries: 1 }, settings).action,
    ).toEqual({ kind: 'ack' });
    expect(
      decideOutcome({ pkg: pkg(), result: failure(), deliveries: 1 }, { ...settings, ackFailures: true })
        .action,
    ).toEqual({ kind: 'ack' });
  });

  it('re-enqueues by the task retry policy, then dead-letters when it is used up', () => {
    const retry = { attempts: 3, backoff: { type: 'fixed' as const, delayMs: 500 } };
    expect(decideOutcome({ pkg: pkg({ retry }), result: failure(), deliveries: 1 }, settings).action).toEqual(
      {
        kind: 'retry',
        attempt: 2,
        delayMs: 500,
      },
    );
    const last = decideOutcome(
      { pkg: pkg({ retry, attempt: 3 }), result: failure(), deliveries: 1 },
      settings,
    );
    expect(last.action.kind).toBe('dead-letter');
    expect(last.final).toBe(true);
  });

  it('dead-letters a task this cluster does not know', () => {
    const decision = decideOutcome(
      { pkg: pkg(), result: failure('UnknownTaskError'), deliveries: 1 },
      settings,
    );
    expect(decision.action.kind).toBe('dead-letter');
    expect(decision.save).toBe(true);
  });

  it('dead-letters at once a run whose arguments do not fit the task, retry policy or not', () => {
    // No later run can succeed with the same arguments: retrying would only burn attempts.
    for (const extra of [{}, { retry: { attempts: 5 } }, { maxAttempts: 3 }]) {
      const decision = decideOutcome(
        { pkg: pkg(extra), result: failure('TaskArgumentsError'), deliveries: 1 },
        settings,
      );
      expect(decision).toEqual({
        action: { kind: 'dead-letter', reason: 'TaskArgumentsError: boom' },
        save: true,
        final: true,
      });
    }
  });

  it('releases at once a run whose worker was lost, until maxAttempts', () => {
    const lost = failure('WorkerLostError');
    expect(
      decideOutcome({ pkg: pkg(), result: lost, deliveries: 1, workerLost: true }, settings).action,
    ).toEqual({
      kind: 'release',
      delayMs: 0,
      reason: 'WorkerLostError: boom',
    });
    expect(
      decideOutcome(
        { pkg: pkg(), result: lost, deliveries: 3, workerLost: true },
        { ...settings, maxAttempts: 3 },
      ).action.kind,
    ).toBe('dead-letter');
  });
});

describe('retryDelayMs', () => {
  it('grows exponentially from the first delay, up to the cap', () => {
    const policy = {
      attempts: 10,
      backoff: { type: 'exponential' as const, delayMs: 100, maxDelayMs: 1_000 },
    };
    expect([2, 3, 4, 5, 6, 7].map((attempt) => retryDelayMs(policy, attempt))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('spreads delays by ±jitter', () => {
    const policy = { attempts: 3, backoff: { type: 'fixed' as const, delayMs: 1_000, jitter: 0.2 } };
    expect(retryDelayMs(policy, 2, () => 0)).toBe(800);
    expect(retryDelayMs(policy, 2, () => 0.5)).toBe(1_000);
    expect(retryDelayMs(policy, 2, () => 0.999_999)).toBe(1_200);
  });

  it('is zero without a backoff', () => {
    expect(retryDelayMs({ attempts: 2 }, 2)).toBe(0);
  });
});

describe('decideAfterFailedStep', () => {
  const ack = { action: { kind: 'ack' as const }, save: true, final: true };
  it('releases the job after a second when its result or follow-ups could not be stored or sent', () => {
    expect(decideAfterFailedStep('save', ack, new Error('down'))).toEqual({
      action: { kind: 'release', delayMs: 1_000, reason: 'result backend: down' },
      save: false,
      final: false,
    });
    expect(decideAfterFailedStep('follow-ups', ack, new Error('down')).action).toEqual({
      kind: 'release',
      delayMs: 1_000,
      reason: 'follow-ups: down',
    });
  });

  it("releases with the retry's own delay when the retry could not be enqueued", () => {
    const retry = {
      action: { kind: 'retry' as const, attempt: 2, delayMs: 5_000 },
      save: false,
      final: false,
    };
    expect(decideAfterFailedStep('retry', retry, new Error('down')).action).toEqual({
      kind: 'release',
      delayMs: 5_000,
      reason: 'enqueueing the retry: down',
    });
  });
});
