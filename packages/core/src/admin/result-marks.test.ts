/**
 * Pause flags and cancel marks kept by the result backend for a broker without them: the composed
 * administration declares and serves them from the backend, keeps the broker's own methods, and leaves a
 * broker that keeps its own marks untouched.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../memory/memory-broker.js';
import type { MemoryBrokerAdministration } from '../memory/memory-broker-administration.js';
import { MemoryResultBackend, MemoryResultStore } from '../memory/memory-result-backend.js';
import { NO_BROKER_ADMINISTRATION } from './broker-administration.js';
import { marksKeeper, withResultMarks } from './result-marks.js';

describe('withResultMarks', () => {
  it('serves pause flags and cancel marks from the result backend for a broker that keeps none', async () => {
    const store = new MemoryResultStore();
    const results = new MemoryResultBackend({ store });
    const composed = withResultMarks(undefined, results.administration)!;
    expect(composed.capabilities).toEqual({ ...NO_BROKER_ADMINISTRATION, pause: true, cancelMarks: true });
    expect(marksKeeper(undefined, results.administration)).toBe('results');

    await composed.setPaused!('mail', true);
    await composed.markCancelled!('job-1', 'not wanted');
    // Another client of the same store (another process on the same server) sees both.
    const other = new MemoryResultBackend({ store }).administration;
    expect(await other.pausedQueues!()).toEqual(['mail']);
    expect(await other.cancelMarks!(['job-1', 'job-2'])).toMatchObject([
      { jobId: 'job-1', reason: 'not wanted' },
    ]);
    expect(composed.find).toBeUndefined();
    expect(composed.listDead).toBeUndefined();
  });

  it("keeps a broker's own capabilities and methods beside the backend's marks", async () => {
    const broker = new MemoryBroker();
    const own = broker.administration as MemoryBrokerAdministration;
    const deadLettersOnly = {
      capabilities: { ...NO_BROKER_ADMINISTRATION, deadLetters: true },
      listDead: own.listDead.bind(own),
      requeueDead: own.requeueDead.bind(own),
      deleteDead: own.deleteDead.bind(own),
      purgeDead: own.purgeDead.bind(own),
      trimDead: own.trimDead.bind(own),
      // A method the broker has but does not declare stays out: the flag decides.
      setPaused: own.setPaused.bind(own),
    };
    const results = new MemoryResultBackend();
    const composed = withResultMarks(deadLettersOnly, results.administration)!;
    expect(composed.capabilities).toMatchObject({ deadLetters: true, pause: true, cancelMarks: true });
    await broker.enqueue('q', [new TextEncoder().encode('x')]);
    const [delivery] = await broker.reserve('q', { max: 1, leaseMs: 10_000, waitMs: 0 });
    await broker.deadLetter(delivery!, 'gave up');
    expect((await composed.listDead!({ queue: 'q', limit: 10 })).packages).toHaveLength(1);
    await composed.setPaused!('q', true);
    expect(await results.administration.pausedQueues!()).toEqual(['q']);
    expect(await own.pausedQueues()).toEqual([]);
    await broker.close();
  });

  it('leaves a broker that keeps its own marks as it is, and a backend without marks adds nothing', () => {
    const broker = new MemoryBroker();
    const results = new MemoryResultBackend();
    expect(withResultMarks(broker.administration, results.administration)).toBe(broker.administration);
    expect(marksKeeper(broker.administration, results.administration)).toBe('broker');
    const withoutMarks = { capabilities: { delete: true, progress: true } };
    expect(withResultMarks(undefined, withoutMarks)).toBeUndefined();
    expect(marksKeeper(undefined, withoutMarks)).toBe('none');
  });
});
