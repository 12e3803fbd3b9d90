import { uuidv7 } from '@tasq/core/backend';
import { readText, reserveUntil, text, uniqueName } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import type { RabbitMqBroker } from './rabbitmq-broker.js';
import { BrokerPool, rabbitSkipReason } from './test-support/rabbitmq-server.js';

const skipReason = await rabbitSkipReason();
const pool = new BrokerPool({ queueType: 'classic' });

afterAll(async () => {
  if (!skipReason) await pool.cleanup();
});

/** Enqueue one labelled package per task and dead-letter them all, in that order. */
async function deadLetters(broker: RabbitMqBroker, queue: string, tasks: string[]): Promise<string[]> {
  await broker.enqueue(
    queue,
    tasks.map((task) => text(`body of ${task}`)),
    { labels: tasks.map((task) => ({ jobId: uuidv7(), task })) },
  );
  const deliveries = await reserveUntil(broker, queue, tasks.length);
  for (const delivery of deliveries) await broker.deadLetter(delivery, `gave up on ${delivery.id}`);
  return deliveries.map((delivery) => delivery.id);
}

describe.skipIf(skipReason !== undefined)(
  `rabbitmq administration${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it('declares dead letters only: ready messages cannot be browsed, looked up or removed', async () => {
      const broker = await pool.open();
      expect(broker.administration.capabilities).toEqual({
        lookup: false,
        browse: false,
        deadLetters: true,
        remove: false,
        pause: false,
        cancelMarks: false,
      });
    });

    it('reading the dead letters takes none of them: the queue keeps every letter in death order', async () => {
      const broker = await pool.open();
      const queue = uniqueName('admin-rabbit-keep');
      const ids = await deadLetters(broker, queue, ['a.task', 'b.task', 'a.task', 'c.task']);
      const first = await broker.administration.listDead!({ queue, limit: 2 });
      const second = await broker.administration.listDead!({ queue, limit: 2, cursor: first.next! });
      expect([...first.packages, ...second.packages].map((stored) => stored.packageId)).toEqual(
        [...ids].reverse(),
      );
      expect(second.next).toBeUndefined();
      expect((await broker.size(queue)).dead).toBe(4);
      // An operator reading at the same moment as another sees what the other does not hold; nothing is
      // taken by either.
      const [one, two] = await Promise.all([
        broker.administration.listDead!({ queue, limit: 10 }),
        broker.administration.listDead!({ queue, limit: 10 }),
      ]);
      expect(one.packages.length + two.packages.length).toBeGreaterThanOrEqual(4);
      expect((await broker.size(queue)).dead).toBe(4);
      const again = await broker.administration.listDead!({ queue, limit: 10 });
      expect(again.packages.map((stored) => stored.packageId)).toEqual([...ids].reverse());
      expect(readText(again.packages[0]!.body)).toBe('body of c.task');
      expect(again.packages[0]).toMatchObject({ task: 'c.task', deadReason: `gave up on ${ids[3]}` });
    });

    it('a requeued letter keeps its id and label, and comes back once', async () => {
      const broker = await pool.open();
      const queue = uniqueName('admin-rabbit-requeue');
      const [id] = await deadLetters(broker, queue, ['requeue.task']);
      expect(await broker.administration.requeueDead!([{ packageId: id! }])).toEqual([id]);
      expect(await broker.size(queue)).toMatchObject({ ready: 1, dead: 0 });
      const [delivery] = await reserveUntil(broker, queue, 1);
      expect(delivery).toMatchObject({ id, deliveries: 1 });
      await broker.deadLetter(delivery!, 'again');
      const [stored] = (await broker.administration.listDead!({ queue, limit: 1 })).packages;
      expect(stored).toMatchObject({ packageId: id, task: 'requeue.task', deadReason: 'again' });
    });

    it('an instance finds a package id on the queues it has used or listed, not on others', async () => {
      const broker = await pool.open();
      const stranger = await pool.open();
      const queue = uniqueName('admin-rabbit-known');
      const [id] = await deadLetters(broker, queue, ['known.task']);
      expect(await stranger.administration.deleteDead!([id!])).toEqual([]);
      expect((await stranger.administration.listDead!({ queue, limit: 1 })).packages).toHaveLength(1);
      expect(await stranger.administration.deleteDead!([id!])).toEqual([id]);
      expect((await broker.size(queue)).dead).toBe(0);
    });
  },
);
