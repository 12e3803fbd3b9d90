/**
 * Faults against the real server: a consumer process killed mid-task, a connection closed by the
 * server under a consumer, and every connection of a busy run closed while 2,000 packages are in flight.
 * Connections are closed with `rabbitmqctl close_connection`, only those carrying this run's
 * connection name, so other users of the shared server are not disturbed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { BrokerConnectionError, type Delivery, LeaseLostError } from '@tasq/core/backend';
import { readText, requireService, sleep, text, uniqueName } from '@tasq/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RabbitMqBroker } from './rabbitmq-broker.js';
import type { RabbitMqQueueType } from './rabbitmq-options.js';
import { PrivateRabbitServer, privateServerAvailable } from './test-support/private-rabbitmq.js';
import {
  BrokerPool,
  closeOwnConnections,
  RABBITMQ_URL,
  rabbitSkipReason,
} from './test-support/rabbitmq-server.js';

const skipReason = await rabbitSkipReason();
const pools: BrokerPool[] = [];
const children: ChildProcess[] = [];

function pool(queueType: RabbitMqQueueType): BrokerPool {
  const created = new BrokerPool({ queueType, reconnectInitialDelayMs: 50, reconnectMaxDelayMs: 1000 });
  pools.push(created);
  return created;
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

afterAll(async () => {
  for (const created of pools.splice(0)) await created.cleanup();
});

/** Reserve until one delivery arrives (the broker may be reconnecting meanwhile). */
async function reserveOne(
  broker: RabbitMqBroker,
  queue: string,
  timeoutMs = 15_000,
): Promise<Delivery | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 60_000, waitMs: 1000 });
      if (delivery) return delivery;
    } catch (error) {
      if (!(error instanceof BrokerConnectionError)) throw error;
      await sleep(100);
    }
  }
  return undefined;
}

describe.skipIf(skipReason !== undefined)(
  `rabbitmq recovery${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    for (const queueType of ['classic', 'quorum'] as const) {
      it(`a consumer process killed mid-task loses nothing: the package comes back (${queueType})`, async () => {
        const runPool = pool(queueType);
        const broker = await runPool.open();
        const queue = uniqueName('killed');
        const [id] = await broker.enqueue(queue, [text('survives a crash')]);

        const script = fileURLToPath(new URL('./test-support/killable-consumer.mjs', import.meta.url));
        const options = {
          url: RABBITMQ_URL,
          queueType,
          connectionName: `${runPool.connectionName}-child`,
          exchangePrefix: runPool.exchangePrefix,
        };
        const child = spawn(
          process.execPath,
          ['--experimental-transform-types', '--no-warnings', script, JSON.stringify(options), queue],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        children.push(child);
        const [line] = (await once(child.stdout!, 'data')) as [Buffer];
        const held = JSON.parse(line.toString()) as { id: string; deliveries: number };
        expect(held).toEqual({ id, deliveries: 1 });
        // The package is reserved by the child: nobody else gets it while the child lives.
        expect(await broker.reserve(queue, { max: 1, leaseMs: 5000, waitMs: 300 })).toEqual([]);

        child.kill('SIGKILL');
        await once(child, 'exit');

        const again = await reserveOne(broker, queue);
        expect(again?.id).toBe(id);
        expect(readText(again!.body)).toBe('survives a crash');
        expect(again?.deliveries).toBe(2);
        await broker.ack(again!);
        expect((await broker.size(queue)).ready).toBe(0);
      });
    }

    it('an ack after the server closed the delivering connection raises LeaseLostError; the consumer resumes by itself', async () => {
      const runPool = pool('classic');
      const broker = await runPool.open();
      const queue = uniqueName('stale');
      const [id] = await broker.enqueue(queue, [text('stale receipt')]);
      const [stale] = await broker.reserve(queue, { max: 1, leaseMs: 60_000, waitMs: 5000 });
      expect(stale?.id).toBe(id);

      expect(await closeOwnConnections(runPool.connectionName)).toBe(2);
      // Settling needs the channel that delivered it; that channel is gone.
      await expect(broker.ack(stale!)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(broker.release(stale!)).rejects.toBeInstanceOf(LeaseLostError);
      await expect(broker.deadLetter(stale!, 'late')).rejects.toBeInstanceOf(LeaseLostError);

      // Nothing calls reconnect: the same broker gets the package back once its consumer has resumed.
      const again = await reserveOne(broker, queue);
      expect(again?.id).toBe(id);
      expect(again?.deliveries).toBe(2);
      await broker.ack(again!);
      expect(await broker.size(queue)).toEqual({ ready: 0, delayed: 0, dead: 0 });
    });

    it('an enqueue in flight when the connection drops fails with a retryable BrokerConnectionError', async () => {
      const runPool = pool('classic');
      const broker = await runPool.open();
      const queue = uniqueName('cut');
      await broker.enqueue(queue, [text('declared first')]);
      // rabbitmqctl takes a second or more to start, so instead of guessing when its close lands, keep
      // an enqueue in flight from the moment it is asked until one of them is cut.
      // A cut that lands between two enqueues (or before a publish was written, which is retried
      // safely) fails nothing: cut again until one lands on an enqueue in flight.
      const bodies = Array.from({ length: 1000 }, (_, i) => text(`bulk-${i}`));
      const enqueueOnce = () =>
        broker.enqueue(queue, bodies).then(
          () => undefined,
          (failure: unknown) => failure,
        );
      let error: unknown;
      const cuts: number[] = [];
      const deadline = Date.now() + 60_000;
      while (error === undefined && Date.now() < deadline) {
        let cut = false;
        const closing = closeOwnConnections(runPool.connectionName).finally(() => {
          cut = true;
        });
        // One more enqueue after the cut returned, for a close the client learns of a moment later.
        while (error === undefined && !cut) error = await enqueueOnce();
        if (error === undefined) error = await enqueueOnce();
        cuts.push(await closing);
      }
      // Both of the pool's connections (publish and consume) were found and closed each time.
      expect(cuts.length).toBeGreaterThan(0);
      expect(cuts.every((closed) => closed === 2)).toBe(true);
      expect(error).toBeInstanceOf(BrokerConnectionError);
      expect((error as BrokerConnectionError).retryable).toBe(true);
      // The broker reconnects by itself: the next call goes through.
      const [id] = await broker.enqueue(queue, [text('after the cut')]);
      expect(id).toBeTypeOf('string');
    }, 90_000);

    it('every connection closed mid-run with 2,000 packages in flight: all complete, none lost', async () => {
      const runPool = pool('classic');
      const producer = await runPool.open();
      const consumers = [await runPool.open(), await runPool.open()];
      const queue = uniqueName('inflight');
      const total = 2000;
      const chunk = 20;
      let enqueued = 0;

      const completed = new Set<number>();
      const enqueueErrors: Error[] = [];
      let staleAcks = 0;
      let closedConnections = 0;
      let holdAcks = false;
      let inHand = 0;
      let heldAtFault = 0;
      const deadline = Date.now() + 90_000;

      const produce = async () => {
        for (let start = 0; start < total; start += chunk) {
          const bodies = Array.from({ length: Math.min(chunk, total - start) }, (_, i) =>
            text(String(start + i)),
          );
          for (;;) {
            try {
              await producer.enqueue(queue, bodies);
              enqueued += bodies.length;
              break;
            } catch (error) {
              // In flight when the connection dropped: retryable; a retry may store some twice, never none.
              enqueueErrors.push(error as Error);
              if (!(error instanceof BrokerConnectionError) || Date.now() > deadline) throw error;
              await sleep(50);
            }
          }
          // A steady producer, so the first fault lands while enqueues are in flight.
          await sleep(10);
        }
      };
      const consume = async (broker: RabbitMqBroker) => {
        while (completed.size < total && Date.now() < deadline) {
          let batch: Delivery[];
          try {
            batch = await broker.reserve(queue, { max: 50, leaseMs: 60_000, waitMs: 500 });
          } catch (error) {
            if (!(error instanceof BrokerConnectionError)) throw error;
            await sleep(50);
            continue;
          }
          // The "task" takes a while; while a fault is being staged it waits, so the fault is sure to
          // catch deliveries in hand.
          inHand += batch.length;
          await sleep(20);
          while (holdAcks) await sleep(5);
          inHand -= batch.length;
          for (const delivery of batch) {
            try {
              await broker.ack(delivery);
              completed.add(Number(readText(delivery.body)));
            } catch (error) {
              // Its channel closed before the ack: the server returned it, it will come again.
              if (!(error instanceof LeaseLostError)) throw error;
              staleAcks++;
            }
          }
        }
      };
      const closeWithWorkInHand = async () => {
        holdAcks = true;
        while (inHand === 0 && Date.now() < deadline) await sleep(5);
        heldAtFault += inHand;
        closedConnections += await closeOwnConnections(runPool.connectionName);
        // Let the server's connection.close reach the clients before the held acks are attempted.
        await sleep(300);
        holdAcks = false;
      };
      const fault = async () => {
        while ((enqueued < 600 || completed.size < 200) && Date.now() < deadline) await sleep(5);
        await closeWithWorkInHand();
        while (completed.size < 1200 && Date.now() < deadline) await sleep(10);
        await closeWithWorkInHand();
      };

      await Promise.all([produce(), fault(), ...consumers.map(consume)]);

      expect(closedConnections).toBeGreaterThanOrEqual(10);
      // The faults did hit work in progress: deliveries in hand were lost with their channel and came back.
      expect(heldAtFault).toBeGreaterThan(0);
      expect(staleAcks).toBeGreaterThan(0);
      for (const error of enqueueErrors) expect(error).toBeInstanceOf(BrokerConnectionError);
      const missing = Array.from({ length: total }, (_, i) => i).filter((i) => !completed.has(i));
      expect(missing).toEqual([]);
      // Duplicates from retried enqueues may remain; drain them, then the queue is empty.
      for (const broker of consumers) await broker.purge(queue);
      const size = await producer.size(queue);
      expect(size.ready).toBe(0);
      expect(size.dead).toBe(0);
      console.info(
        `in-flight run: ${closedConnections} connections closed, ${enqueueErrors.length} enqueue retries, ${staleAcks} stale acks`,
      );
    }, 120_000);
  },
);

const privateSkipReason = await requireService(
  'a private RabbitMQ node (rabbitmq-server scripts)',
  async () => {
    if (!privateServerAvailable())
      throw new Error('rabbitmq-server is not installed in /usr/lib/rabbitmq/bin');
  },
);

describe.skipIf(privateSkipReason !== undefined)(
  `rabbitmq server restart${privateSkipReason ? `: skipped: ${privateSkipReason}` : ''}`,
  () => {
    const server = privateSkipReason ? undefined : new PrivateRabbitServer();
    afterAll(async () => {
      await server?.destroy();
    });

    it('a restarted server: consumers resume by themselves, durable packages survive, none lost', async () => {
      await server!.start();
      const broker = await RabbitMqBroker.connect({
        url: server!.url,
        reconnectInitialDelayMs: 100,
        reconnectMaxDelayMs: 1000,
        reconnectWaitMs: 300,
      });
      try {
        const queue = uniqueName('restart');
        const total = 300;
        await broker.enqueue(
          queue,
          Array.from({ length: total }, (_, i) => text(String(i))),
        );
        const done = new Set<number>();
        while (done.size < 100) {
          for (const delivery of await broker.reserve(queue, { max: 20, leaseMs: 60_000, waitMs: 1000 })) {
            await broker.ack(delivery);
            done.add(Number(readText(delivery.body)));
          }
        }
        const held = await broker.reserve(queue, { max: 10, leaseMs: 60_000, waitMs: 1000 });
        expect(held.length).toBeGreaterThan(0);

        await server!.stop();
        await expect(broker.ack(held[0]!)).rejects.toBeInstanceOf(LeaseLostError);
        // While the server is away, calls fail fast and retryably.
        await expect(broker.enqueue(queue, [text('during')])).rejects.toBeInstanceOf(BrokerConnectionError);

        await server!.start();
        const deadline = Date.now() + 30_000;
        while (done.size < total && Date.now() < deadline) {
          try {
            for (const delivery of await broker.reserve(queue, { max: 50, leaseMs: 60_000, waitMs: 1000 })) {
              await broker.ack(delivery);
              done.add(Number(readText(delivery.body)));
            }
          } catch (error) {
            if (!(error instanceof BrokerConnectionError)) throw error;
            await sleep(100);
          }
        }
        expect(Array.from({ length: total }, (_, i) => i).filter((i) => !done.has(i))).toEqual([]);
        // BrokerConnectionError is retryable by contract: the admin channel may still be reconnecting.
        let size: Awaited<ReturnType<typeof broker.size>> | undefined;
        while (size === undefined && Date.now() < deadline + 10_000) {
          size = await broker.size(queue).catch(async (error: unknown) => {
            if (!(error instanceof BrokerConnectionError)) throw error;
            await sleep(100);
            return undefined;
          });
        }
        expect(size?.ready).toBe(0);
      } finally {
        await broker.close();
      }
    }, 240_000);
  },
);
