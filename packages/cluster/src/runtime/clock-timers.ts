/**
 * Timers on a `Clock`: every wait of the runtime goes through these, so a test on a `ManualClock` moves
 * fetch, dispatch, lease extension, timeouts and the guard forward by advancing time, with no sleep.
 */
import type { Clock } from '@tasq/core';

/** Cancels a pending timer; calling it after the timer fired, or twice, does nothing. */
export type CancelTimer = () => void;

const ignore = () => {};

/** Call `fn` once after `ms` of `clock` time, unless cancelled first. */
export function after(clock: Clock, ms: number, fn: () => void): CancelTimer {
  const control = new AbortController();
  clock.sleep(Math.max(0, ms), control.signal).then(() => {
    if (!control.signal.aborted) fn();
  }, ignore);
  return () => control.abort();
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
  return () => control.abort();
}

/** Wait for the first of `promises` or `ms` of `clock` time; the timer is cancelled either way. */
export async function waitAtMost(clock: Clock, ms: number, ...promises: Promise<unknown>[]): Promise<void> {
  const control = new AbortController();
  try {
    await Promise.race([...promises, clock.sleep(ms, control.signal)]);
  } finally {
    control.abort();
  }
}
