/**
 * Fault test: Redis is killed (SIGKILL) and restarted in the middle of a run with 2,000 packages in flight.
 * The server is the test's own, with the append-only file fsynced on every write, so what Redis
 * acknowledged survives the crash (a restart without persistence empties the server by definition).
 * Every package must complete; duplicates (a package processed twice because its ack was lost with the
 * connection, or its lease ran out while the server was down) are allowed by at-least-once and counted.
 */
import { BrokerConnectionError, LeaseLostError } from '@tasq/core/backend';
import { readText, text } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBroker } from './redis-broker.js';
import { RedisResultBackend } from './redis-result-backend.js';
import { RedisProcess } from './test-support/redis-process.js';
import { redisSkipReason } from './test-support/redis-server.js';

const skipReason = await redisSkipReason();
const TOTAL = 2000;
const CONSUMERS = 4;
const LEASE_MS = 3000;

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

describe.skipIf(skipReason !== undefined)('redis broker across a server crash and restart', () => {
  it('completes all 2,000 packages in flight, loses none, and counts duplicates', async () => {
    const server = await RedisProcess.start({ durable: true });
    cleanup.push(() => server.stop());
    const producer = new RedisBroker({ connection: server.url });
    const consumer = new RedisBroker({ connection: server.url });
    cleanup.push(
      () => producer.close(),
      () => consumer.close(),
    );

    const sent = Array.from({ length: TOTAL }, (_, index) => `job-${index}`);
    await producer.enqueue('restart', sent.map(text));

    const processed = new Map<string, number>();
    let completed = 0;
    let connectionErrors = 0;
    let leasesLost = 0;
    let restarted = false;
    const deadline = Date.now() + 90_000;

    const restart = async () => {
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await server.start();
    };
    let restarting: Promise<void> | undefined;

    const loop = async () => {
      while (completed < TOTAL && Date.now() < deadline) {
        let batch: Awaited<ReturnType<RedisBroker['reserve']>>;
        try {
          batch = await consumer.reserve('restart', { max: 25, leaseMs: LEASE_MS, waitMs: 500 });
        } catch (error) {
          expect(error).toBeInstanceOf(BrokerConnectionError);
          connectionErrors += 1;
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        for (const delivery of batch) {
          const body = readText(delivery.body);
          const seenBefore = processed.get(body) ?? 0;
          processed.set(body, seenBefore + 1);
          if (seenBefore === 0) completed += 1;
          // A little work per package, so the run lasts long enough to be interrupted in the middle.
          await new Promise((resolve) => setImmediate(resolve));
          if (!restarted && completed >= TOTAL / 3) {
            restarted = true;
            restarting = restart();
          }
          try {
            await consumer.ack(delivery);
          } catch (error) {
            if (error instanceof LeaseLostError) leasesLost += 1;
            else if (error instanceof BrokerConnectionError) connectionErrors += 1;
            else throw error;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONSUMERS }, loop));
    await restarting;

    expect(restarted).toBe(true);
    expect(connectionErrors).toBeGreaterThan(0);
    expect([...processed.keys()].sort()).toEqual([...sent].sort());
    // Nothing left behind: every package was acked on one of its deliveries.
    let size = await producer.size('restart');
    const settleBy = Date.now() + LEASE_MS + 5000;
    while ((size.ready > 0 || (size.reserved ?? 0) > 0) && Date.now() < settleBy) {
      // Packages whose ack was lost in the crash come back after their lease: drain them.
      for (const delivery of await consumer.reserve('restart', {
        max: 100,
        leaseMs: LEASE_MS,
        waitMs: 1000,
      })) {
        const body = readText(delivery.body);
        expect(processed.has(body)).toBe(true);
        processed.set(body, (processed.get(body) ?? 0) + 1);
        await consumer.ack(delivery);
      }
      size = await producer.size('restart');
    }
    expect(size).toEqual({ ready: 0, delayed: 0, reserved: 0, dead: 0 });
    const duplicates = [...processed.values()].reduce((sum, count) => sum + count - 1, 0);
    console.log(
      `redis restart: ${processed.size}/${TOTAL} packages completed, ${duplicates} duplicate deliveries processed, ` +
        `${connectionErrors} connection errors, ${leasesLost} acks refused as lease lost`,
    );
  }, 120_000);

  it('a result wait in progress survives the restart and wakes on a save made after it', async () => {
    const server = await RedisProcess.start({ durable: true });
    cleanup.push(() => server.stop());
    const waiter = new RedisResultBackend({ connection: server.url });
    const writer = new RedisResultBackend({ connection: server.url });
    cleanup.push(
      () => waiter.close(),
      () => writer.close(),
    );
    const now = Date.now();
    const result = {
      id: `${now.toString(36)}-restart`,
      name: 'reports.build',
      queue: 'default',
      status: 'success' as const,
      result: 'after the restart',
      attempts: 1,
      enqueuedAt: now,
      startedAt: now,
      stoppedAt: now,
    };
    const waiting = waiter.wait(result.id, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await server.kill();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await server.start();
    // The writer's own connection comes back by itself; retry its save until it does.
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await writer.save(result);
        break;
      } catch (error) {
        expect(error).toBeInstanceOf(BrokerConnectionError);
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    expect((await waiting)?.result).toBe('after the restart');
  }, 60_000);
});
