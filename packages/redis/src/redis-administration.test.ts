import { LeaseLostError, uuidv7 } from '@tasq/core/backend';
import { readText, reserveUntil, text } from '@tasq/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisBroker } from './redis-broker.js';
import { RedisResultBackend } from './redis-result-backend.js';
import { deleteKeys, REDIS_URL, redisSkipReason, uniquePrefix } from './test-support/redis-server.js';

const skipReason = await redisSkipReason();
const prefix = uniquePrefix('admin');
const opened: { close(): Promise<unknown> }[] = [];

function broker(): RedisBroker {
  const created = new RedisBroker({ connection: REDIS_URL, prefix });
  opened.push(created);
  return created;
}

function inspector(): Redis {
  const client = new Redis(REDIS_URL);
  opened.push({ close: () => client.quit() });
  return client;
}

let queueCounter = 0;
function queue(): string {
  queueCounter += 1;
  return `admin-q${queueCounter}`;
}

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});
afterAll(async () => {
  if (!skipReason) await deleteKeys(prefix);
});

describe.skipIf(skipReason !== undefined)(
  `redis administration${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it('lists every match of a rare state across pages, each once, when a page stops at its read budget', async () => {
      const subject = broker();
      const name = queue();
      const jobIds = Array.from({ length: 1_500 }, () => uuidv7());
      await subject.enqueue(
        name,
        jobIds.map((id) => text(id)),
        { labels: jobIds.map((jobId) => ({ jobId, task: 'bulk.task' })) },
      );
      // The oldest package is the one reserved: 1,499 newer ready ones lie above it in the index.
      const [running] = await subject.reserve(name, { max: 1, leaseMs: 60_000, waitMs: 0 });
      expect(readText(running!.body)).toBe(jobIds[0]);
      const found: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await subject.administration.list!({
          queue: name,
          states: ['reserved'],
          limit: 10,
          ...(cursor ? { cursor } : {}),
        });
        found.push(...page.packages.map((stored) => stored.jobId!));
        cursor = page.next;
        pages++;
      } while (cursor !== undefined && pages < 10);
      expect(found).toEqual([jobIds[0]]);
      expect(pages).toBeGreaterThan(1);
      expect(cursor).toBeUndefined();
    });

    it('lists, requeues and counts dead letters kept in the list of earlier versions', async () => {
      const subject = broker();
      const name = queue();
      const client = inspector();
      // The layout before dead-at existed: the package hash with reason and deadAt, its id on a list.
      const base = `${prefix}:{${name}}:`;
      await client.hset(`${base}job:old-1`, {
        body: 'from before',
        priority: '0',
        deliveries: '3',
        reason: 'failed in an earlier version',
        deadAt: String(Date.now() - 5_000),
      });
      await client.rpush(`${base}dead`, 'old-1');
      await subject.enqueue(name, [text('registers the queue')]);
      expect((await subject.size(name)).dead).toBe(1);

      const [dead] = (await subject.administration.listDead!({ queue: name, limit: 10 })).packages;
      expect(dead).toMatchObject({
        packageId: 'old-1',
        state: 'dead',
        deadReason: 'failed in an earlier version',
        deliveries: 3,
      });
      expect(await client.exists(`${base}dead`)).toBe(0);
      expect(await subject.administration.requeueDead!([{ packageId: 'old-1' }])).toEqual(['old-1']);
      expect(await subject.size(name)).toMatchObject({ ready: 2, dead: 0 });
    });

    it('a stale delivery from before a letter died cannot settle the lease it has after a requeue', async () => {
      const subject = broker();
      const name = queue();
      const [label] = [{ jobId: uuidv7(), task: 'stale.task' }];
      await subject.enqueue(name, [text('once')], { labels: [label!] });
      const [stale] = await subject.reserve(name, { max: 1, leaseMs: 1, waitMs: 0 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const [second] = await reserveUntil(subject, name, 1);
      expect(second!.deliveries).toBe(2);
      await subject.deadLetter(second!, 'gave up');
      const [dead] = (await subject.administration.listDead!({ queue: name, limit: 1 })).packages;
      expect(await subject.administration.requeueDead!([{ packageId: dead!.packageId }])).toEqual([
        dead!.packageId,
      ]);
      const [fresh] = await reserveUntil(subject, name, 1);
      // Same count as the stale delivery had, so only the new id tells the leases apart.
      expect(fresh!.deliveries).toBe(stale!.deliveries);
      await expect(subject.ack(stale!)).rejects.toBeInstanceOf(LeaseLostError);
      await subject.ack(fresh!);
      expect(await subject.administration.find!(label!.jobId)).toBeUndefined();
    });

    it('lists packages enqueued without labels, and finds none of them by job id', async () => {
      const subject = broker();
      const name = queue();
      const [id] = await subject.enqueue(name, [text('no label')]);
      const page = await subject.administration.list!({ queue: name, limit: 10 });
      expect(page.packages).toHaveLength(1);
      expect(page.packages[0]).toMatchObject({ packageId: id, state: 'ready', deliveries: 0 });
      expect(page.packages[0]!.jobId).toBeUndefined();
      expect(readText(page.packages[0]!.body)).toBe('no label');
    });

    it('refuses a cursor it did not make, and a limit out of range, naming the problem', async () => {
      const subject = broker();
      await expect(
        subject.administration.list!({ queue: queue(), limit: 10, cursor: 'page-2' }),
      ).rejects.toThrow(/cursor "page-2" was not made by the Redis broker/);
      await expect(subject.administration.listDead!({ queue: queue(), limit: 0 })).rejects.toThrow(
        /limit must be an integer from 1 to 1000/,
      );
    });

    it('result progress lives as long as the outcome it belongs to: deleting the outcome drops it', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix });
      opened.push(backend);
      const id = uuidv7();
      await backend.administration.saveProgress!(id, { value: { done: 1, of: 2 }, at: 1_000 });
      await backend.save({
        id,
        name: 'progress.task',
        queue: 'default',
        status: 'success',
        result: 1,
        attempts: 1,
        enqueuedAt: 1_000,
        startedAt: 1_500,
        stoppedAt: 2_000,
      });
      expect(await backend.administration.delete!([id])).toBe(1);
      expect(await backend.administration.progress!(id)).toBeUndefined();
      await expect(
        backend.administration.saveProgress!(id, { value: { text: 'x'.repeat(2_000) }, at: 3_000 }),
      ).rejects.toThrow(/at most 1024 bytes/);
    });
  },
);
