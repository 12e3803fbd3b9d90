import type { TaskPackage } from '@tasq/core/internal';
import { describe, expect, it } from 'vitest';
import { runDefaultsOf, withRunDefaults } from './task-run-defaults.js';

const pkg = (extra: Partial<TaskPackage> = {}): TaskPackage => ({
  id: 'job-1',
  name: 'reports.build',
  args: [],
  queue: 'default',
  enqueuedAt: 1,
  ...extra,
});

describe('task run defaults', () => {
  it("reads a definition's run settings, durations in milliseconds, and leaves routing out", () => {
    expect(
      runDefaultsOf({
        timeout: '2m',
        softTimeout: 30,
        maxAttempts: 3,
        ackFailure: true,
        saveResult: false,
        retry: { attempts: 4 },
        queue: 'reports',
        priority: 5,
        rateLimit: '1/s',
      }),
    ).toEqual({
      timeoutMs: 120_000,
      softTimeoutMs: 30_000,
      maxAttempts: 3,
      ackFailure: true,
      saveResult: false,
      retry: { attempts: 4 },
    });
    expect(runDefaultsOf({ queue: 'reports' })).toBeUndefined();
  });

  it('fills only what the package leaves out', () => {
    const defaults = { timeoutMs: 400, maxAttempts: 1, saveResult: false };
    expect(withRunDefaults(pkg({ timeoutMs: 3_000 }), defaults)).toEqual(
      pkg({ timeoutMs: 3_000, maxAttempts: 1, saveResult: false }),
    );
    // false and 0 are choices, not gaps.
    expect(withRunDefaults(pkg({ saveResult: true, maxAttempts: 0 }), defaults)).toEqual(
      pkg({ saveResult: true, maxAttempts: 0, timeoutMs: 400 }),
    );
    const complete = pkg({ timeoutMs: 1, maxAttempts: 2, saveResult: true });
    expect(withRunDefaults(complete, defaults)).toBe(complete);
    expect(withRunDefaults(complete, undefined)).toBe(complete);
  });
});
