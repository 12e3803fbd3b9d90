/**
 * Timers on a `Clock`: every wait of the runtime goes through these, so a test on a `ManualClock` moves
 * fetch, dispatch, lease extension, timeouts and the guard forward by advancing time, with no sleep.
 */
import type { Clock } from '@tasq/core';

/** Cancels a pending timer; calling it after the timer fired, or twice, does nothing. */
export type CancelTimer = () => void;

const ignore = () => {};

/**
 * The reason every cancelled wait is aborted with: one shared value, since the fetch loop cancels a wait
 * about once per job and a fresh DOMException (with its stack) each time costs more than the wait itself.
 */
const CANCELLED = Object.freeze({ cancelled: true });

/** Call `fn` once after `ms` of `clock` time, unless cancelled first. */
export function after(clock: Clock, ms: number, fn: () => void): CancelTimer {
  const control = new AbortController();
  clock.sleep(Math.max(0, ms), control.signal).then(() => {
    if (!control.signal.aborted) fn();
  }, ignore);
  return () => control.abort(CANCELLED);
}

/** Call `fn` every `ms` of `clock` time until cancelled (the next wait starts once `fn` has returned). */
export function every(clock: Clock, ms: number, fn: () => void): CancelTimer {
  const control = new AbortController();
  const loop = (): void => {
    clock.sleep(ms, control.signal).then(() => {
      if (control.signal.aborted) return;
      fn();
      loop();
    }, ignore);
  };
  loop();
  return () => control.abort(CANCELLED);
}

/** Wait for the first of `promises` or `ms` of `clock` time; the timer is cancelled either way. */
export async function waitAtMost(clock: Clock, ms: number, ...promises: Promise<unknown>[]): Promise<void> {
  const control = new AbortController();
  try {
    await Promise.race([...promises, clock.sleep(ms, control.signal)]);
  } finally {
    control.abort(CANCELLED);
  }
}
