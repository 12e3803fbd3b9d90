/**
 * MongoDB-specific behaviour beyond the shared contract. Needs a server: skipped with NO_SERVER_REASON
 * when MONGODB_URL is not set (see test-support/mongo-server.ts).
 */
import { randomBytes } from 'node:crypto';
import { LeaseLostError } from '@tasq/core/backend';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { MongoBroker } from './mongo-broker.js';
import { CLAIM_SORT, PACKAGE_CLAIM_INDEX } from './mongo-collections.js';
import { databaseFromUrl } from './mongo-options.js';
import { MongoResultBackend } from './mongo-result-backend.js';
import {
  dropDatabase,
  serverSkipReason,
  serverUrl as url,
  uniqueDatabaseName,
} from './test-support/mongo-server.js';

const skipReason = await serverSkipReason();
const database = uniqueDatabaseName();
const bytes = (text: string) => new TextEncoder().encode(text);
const textOf = (body: Uint8Array) => new TextDecoder().decode(body);
const queueName = () => `q-${randomBytes(4).toString('hex')}`;

describe.skipIf(skipReason !== undefined)(
  skipReason ? `mongo broker on a server: skipped: ${skipReason}` : 'mongo broker on a server',
  () => {
    afterAll(async () => {
      await dropDatabase(database);
    });

    it('claims through the claim index, without an in-memory sort of the backlog', async () => {
      const broker = await MongoBroker.open({ url, database });
      const client = new MongoClient(url!);
      try {
        const queue = queueName();
        await broker.enqueue(
          queue,
          Array.from({ length: 50 }, (_, i) => bytes(`p${i}`)),
        );
        const now = Date.now();
        const plan = await client
          .db(database)
          .collection('tasq_packages')
          .find({ queue, runAt: { $lte: now }, lockedUntil: { $lte: now } })
          .sort(CLAIM_SORT)
          .hint(PACKAGE_CLAIM_INDEX.key)
          .limit(1)
          .explain('queryPlanner');
        const winning = JSON.stringify(plan.queryPlanner.winningPlan);
        expect(winning).toContain(PACKAGE_CLAIM_INDEX.name);
        // The index yields claim order: no blocking sort stage over the backlog.
        expect(winning).not.toMatch(/"stage":"SORT"/);
      } finally {
        await client.close();
        await broker.close();
      }
    });

    it('keeps dead letters with their reason, out of every claim', async () => {
      const broker = await MongoBroker.open({ url, database });
      try {
        const queue = queueName();
        await broker.enqueue(queue, [bytes('poison')]);
        const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 30_000, waitMs: 1000 });
        await broker.deadLetter(delivery!, 'bad signature');
        expect(await broker.deadLetters(queue)).toEqual([
          { id: delivery!.id, reason: 'bad signature', at: expect.any(Number) },
        ]);
        expect(await broker.reserve(queue, { max: 5, leaseMs: 30_000, waitMs: 0 })).toEqual([]);
        await expect(broker.ack(delivery!)).rejects.toBeInstanceOf(LeaseLostError);
        // purge removes what is waiting, never the dead letters kept for inspection.
        expect(await broker.purge(queue)).toBe(0);
        expect((await broker.size(queue)).dead).toBe(1);
      } finally {
        await broker.close();
      }
    });

    it('returns a batch in priority, then enqueue, order', async () => {
      const broker = await MongoBroker.open({ url, database });
      try {
        const queue = queueName();
        await broker.enqueue(queue, [bytes('low-1'), bytes('low-2')], { priority: 1 });
        await broker.enqueue(queue, [bytes('high-1'), bytes('high-2')], { priority: 8 });
        const batch = await broker.reserve(queue, { max: 10, leaseMs: 30_000, waitMs: 1000 });
        expect(batch.map((d) => textOf(d.body))).toEqual(['high-1', 'high-2', 'low-1', 'low-2']);
      } finally {
        await broker.close();
      }
    });

    it('wakes an idle reserve at once for a release when the deployment has change streams', async (context) => {
      const producer = await MongoBroker.open({ url, database });
      const consumer = await MongoBroker.open({ url, database, poll: 5000 });
      try {
        if (!consumer.changeStreamsActive) {
          context.skip(
            'the server has no change streams (a standalone mongod): run it as a replica set to test wake-ups by change event',
          );
        }
        const queue = queueName();
        await producer.enqueue(queue, [bytes('again')]);
        const [first] = await producer.reserve(queue, { max: 1, leaseMs: 30_000, waitMs: 1000 });
        const waiting = consumer.reserve(queue, { max: 1, leaseMs: 30_000, waitMs: 10_000 });
        await new Promise((resolve) => setTimeout(resolve, 300));
        const releasedAt = Date.now();
        await producer.release(first!);
        const [second] = await waiting;
        expect(second?.id).toBe(first!.id);
        // With a 5 s poll, only the change event can explain a wake-up this soon.
        expect(Date.now() - releasedAt).toBeLessThan(2000);
      } finally {
        await producer.close();
        await consumer.close();
      }
    });

    it('uses the database named in the URL when no database option is given', async () => {
      const named = uniqueDatabaseName();
      const withPath = url!.replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+)\/?[^?]*/, `$1/${named}`);
      expect(databaseFromUrl(withPath)).toBe(named);
      const broker = await MongoBroker.open({ url: withPath });
      const client = new MongoClient(url!);
      try {
        await broker.enqueue(queueName(), [bytes('x')]);
        const collections = await client.db(named).listCollections().toArray();
        expect(collections.map((c) => c.name)).toContain('tasq_packages');
      } finally {
        await broker.close();
        await client.close();
        await dropDatabase(named);
      }
    });

    it('leaves a borrowed client open on close', async () => {
      const client = new MongoClient(url!);
      try {
        const broker = await MongoBroker.open({ client, database });
        await broker.close();
        expect((await client.db(database).command({ ping: 1 })).ok).toBe(1);
      } finally {
        await client.close();
      }
    });

    it('hides cached results once their time is up, before the TTL monitor removes them', async () => {
      const backend = await MongoResultBackend.open({ url, database, cached: 1 });
      try {
        const now = Date.now();
        const id = `r-${randomBytes(4).toString('hex')}`;
        await backend.save({
          id,
          name: 't',
          queue: 'q',
          status: 'success',
          result: 1,
          attempts: 1,
          enqueuedAt: now,
          startedAt: now,
          stoppedAt: now,
        });
        expect((await backend.get(id))?.result).toBe(1);
        await new Promise((resolve) => setTimeout(resolve, 1200));
        expect(await backend.get(id)).toBeUndefined();
      } finally {
        await backend.close();
      }
    });
  },
);
