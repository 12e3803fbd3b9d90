/** How much a cluster holds ahead: configured, or sized to what its pool finishes in HOLD_AHEAD_MS. */
import { describe, expect, it } from 'vitest';
import { HOLD_AHEAD_MS, HoldAhead, MAX_ADAPTIVE_BULK, PACE_WINDOW_MS } from './hold-ahead.js';

/** A clock the test moves by hand, and runs ending every `everyMs` for `forMs`. */
function pacedHold(adaptive: boolean, configured = { bulk: 2, queueLimit: 4 }) {
  let now = 0;
  const hold = new HoldAhead(configured, adaptive, { now: () => now });
  return {
    hold,
    runsEnd(everyMs: number, forMs: number, perTick = 1) {
      for (let t = 0; t < forMs; t += everyMs) {
        now += everyMs;
        for (let i = 0; i < perTick; i++) hold.runEnded();
      }
    },
    wait(ms: number) {
      now += ms;
    },
  };
}

describe('HoldAhead', () => {
  it('holds what the configuration says when bulk or queueLimit was set, however fast runs end', () => {
    const { hold, runsEnd } = pacedHold(false, { bulk: 10, queueLimit: 20 });
    runsEnd(1, 2 * PACE_WINDOW_MS, 10);
    expect({ bulk: hold.bulk, queueLimit: hold.queueLimit }).toEqual({ bulk: 10, queueLimit: 20 });
  });

  it('holds what the pool finishes in HOLD_AHEAD_MS while runs are short, half of it per reserve', () => {
    const { hold, runsEnd } = pacedHold(true);
    expect({ bulk: hold.bulk, queueLimit: hold.queueLimit }).toEqual({ bulk: 2, queueLimit: 4 });
    // One run a millisecond (concurrency 1, a 1 ms task): 50 runs in the hold, 25 per reserve.
    runsEnd(1, PACE_WINDOW_MS);
    expect(hold.queueLimit).toBe(HOLD_AHEAD_MS);
    expect(hold.bulk).toBe(HOLD_AHEAD_MS / 2);
    // Ten a millisecond: capped at the largest bulk.
    runsEnd(1, PACE_WINDOW_MS, 10);
    expect({ bulk: hold.bulk, queueLimit: hold.queueLimit }).toEqual({
      bulk: MAX_ADAPTIVE_BULK,
      queueLimit: 2 * MAX_ADAPTIVE_BULK,
    });
  });

  it('never holds less than the configured defaults, so long runs hold what they always did', () => {
    const { hold, runsEnd } = pacedHold(true, { bulk: 100, queueLimit: 200 });
    runsEnd(1, PACE_WINDOW_MS);
    expect({ bulk: hold.bulk, queueLimit: hold.queueLimit }).toEqual({ bulk: 100, queueLimit: 200 });
    const slow = pacedHold(true);
    slow.runsEnd(100, 10 * PACE_WINDOW_MS);
    expect({ bulk: slow.hold.bulk, queueLimit: slow.hold.queueLimit }).toEqual({ bulk: 2, queueLimit: 4 });
  });

  it('goes back to the defaults once no run has ended for two windows (idle, or long runs arrived)', () => {
    const { hold, runsEnd, wait } = pacedHold(true);
    runsEnd(1, PACE_WINDOW_MS, 10);
    expect(hold.queueLimit).toBe(2 * MAX_ADAPTIVE_BULK);
    wait(2 * PACE_WINDOW_MS + 1);
    expect({ bulk: hold.bulk, queueLimit: hold.queueLimit }).toEqual({ bulk: 2, queueLimit: 4 });
  });
});
