/**
 * A cluster keeps the dead letters of the queues it consumes within `deadLetters`, on a schedule (memory
 * broker, a clock the test moves).
 */
import { Administration, ManualClock } from '@tasq/core';
import { eventually } from '@tasq/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../start-cluster.js';
import { memoryConfig, startOnClock } from '../test-support/memory-deployment.js';
import { runtimeServicesOf } from '@tasq/core/internal';

let cluster: ClusterHandle | undefined;
afterEach(async () => {
  await cluster?.stop({ timeoutMs: 0 });
  cluster = undefined;
});

describe('dead-letter retention', () => {
  it('trims the consumed queues soon after start and then every 10 minutes, newest kept', async () => {
    const clock = new ManualClock();
    cluster = await startOnClock(memoryConfig({ maxAttempts: 1, deadLetters: { maxCount: 2 } }), clock);
    const admin = Administration.of(cluster.tasq);
    const queue = cluster.config.queue;
    const dead: string[] = [];
    for (let i = 0; i < 4; i++) {
      const job = await cluster.tasq.enqueueByName('test.broken', []);
      dead.push(job.id);
      await eventually(() => cluster!.stats.deadLettered === i + 1, 5_000, `dead letter ${i + 1}`);
      await clock.advance(10); // distinct death times
    }
    expect((await admin.deadLetters({ queue })).jobs).toHaveLength(4);

    await clock.advance(5_000); // the first trim
    await eventually(async () => (await admin.deadLetters({ queue })).jobs.length === 2, 5_000, 'the trim');
    const kept = (await admin.deadLetters({ queue })).jobs.map((job) => job.id);
    expect(kept.sort()).toEqual(dead.slice(2).sort());

    for (let i = 0; i < 2; i++) {
      await cluster.tasq.enqueueByName('test.broken', []);
      await eventually(() => cluster!.stats.deadLettered === 5 + i, 5_000, 'another dead letter');
    }
    expect((await admin.deadLetters({ queue })).jobs).toHaveLength(4);
    await clock.advance(10 * 60_000);
    await eventually(
      async () => (await admin.deadLetters({ queue })).jobs.length === 2,
      5_000,
      'the next trim',
    );
  });

  it('trims nothing with deadLetters: false', async () => {
    const clock = new ManualClock();
    cluster = await startOnClock(memoryConfig({ maxAttempts: 1, deadLetters: false }), clock);
    for (let i = 0; i < 3; i++) await cluster.tasq.enqueueByName('test.broken', []);
    await eventually(() => cluster!.stats.deadLettered === 3, 5_000, 'the dead letters');
    await clock.advance(20 * 60_000);
    expect(await cluster.trimDeadLetters()).toBe(0);
    expect((await runtimeServicesOf(cluster.tasq).broker.size(cluster.config.queue)).dead).toBe(3);
  });
});
