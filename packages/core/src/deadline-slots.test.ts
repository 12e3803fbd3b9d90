import { describe, expect, it } from 'vitest';
import { DeadlineSlots } from './deadline-slots.js';

const timers = () => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;

describe('deadline slots', () => {
  it('rejects a call that does not answer, never before its deadline and within one slot after', async () => {
    const slots = new DeadlineSlots(25);
    const startedAt = performance.now();
    const error = await slots
      .race(60, new Promise(() => {}), () => new Error('no answer'))
      .catch((caught: Error) => caught);
    const waited = performance.now() - startedAt;
    expect((error as Error).message).toBe('no answer');
    expect(waited).toBeGreaterThanOrEqual(59);
    // One slot late at most, plus what a busy machine adds before a due timer runs.
    expect(waited).toBeLessThan(60 + 25 + 250);
  });

  it('passes answers and errors through, and leaves no timer behind once every call has answered', async () => {
    // Slots of a second: a loop slowed by a busy machine still crosses at most one slot boundary.
    const slots = new DeadlineSlots(1_000);
    const before = timers();
    const calls = Array.from({ length: 1_000 }, (_, i) =>
      slots.race(10_000, i % 2 ? Promise.resolve(i) : Promise.reject(new Error(`failed ${i}`)), () => {
        throw new Error('expired');
      }),
    );
    // Handled from the start: a failed expectation below must not leave 500 rejections unhandled.
    const settling = Promise.allSettled(calls);
    // A thousand pending calls share the timer of their slot (two if the loop crossed a slot boundary).
    expect(timers() - before).toBeLessThanOrEqual(2);
    const settled = await settling;
    expect(settled[1]).toEqual({ status: 'fulfilled', value: 1 });
    expect(settled[2]).toMatchObject({ status: 'rejected', reason: { message: 'failed 2' } });
    expect(timers()).toBe(before);
  });
});
