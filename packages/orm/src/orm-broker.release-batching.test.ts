/**
 * Releases made together (a stopping cluster giving back what it prefetched) go out as one statement on
 * PostgreSQL (one notification per queue) and one transaction on SQLite. Statements are counted at the
 * driver: the test hands in its own `pg.Pool` or `DatabaseSync` and counts what reaches it.
 */
import { DatabaseSync } from 'node:sqlite';
import { LeaseLostError } from '@tasq/core/backend';
import { uniqueName } from '@tasq/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmBroker, type OrmBroker } from './index.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
} from './test-support/databases.js';

const postgresSkip = await requirePostgres();
const folder = temporaryFolder('release-batching');
const schemas: string[] = [];
const pools: pg.Pool[] = [];

afterAll(async () => {
  for (const pool of pools) await pool.end();
  if (!postgresSkip) for (const schema of schemas) await dropSchema(schema);
  folder.remove();
});

const encode = (value: string) => new TextEncoder().encode(value);

interface Counted {
  broker: OrmBroker;
  /** Release statements (PostgreSQL) or write transactions (SQLite) sent so far. */
  releaseCalls(): number;
  /** Another broker on the same database, with its own connection (PostgreSQL) and a one-minute poll. */
  other(): Promise<OrmBroker>;
}

async function countedPostgres(): Promise<Counted> {
  const schema = uniqueSchema('release');
  schemas.push(schema);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
  pools.push(pool);
  let calls = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const config = args[0] as { name?: string };
    if (typeof config === 'object' && config.name?.startsWith('tasq_release-many_')) calls += 1;
    return query(...args);
  }) as typeof pool.query;
  const broker = await createOrmBroker({ pool, schema });
  return {
    broker,
    releaseCalls: () => calls,
    other: () => createOrmBroker({ url: postgresUrl, schema, poll: 60_000 }),
  };
}

async function countedSqlite(): Promise<Counted> {
  const file = folder.file(`${uniqueName('db')}.db`);
  const database = new DatabaseSync(file);
  const broker = await createOrmBroker({ database });
  let transactions = 0;
  const exec = database.exec.bind(database);
  database.exec = (text: string) => {
    if (text === 'BEGIN IMMEDIATE') transactions += 1;
    exec(text);
  };
  return {
    broker,
    releaseCalls: () => transactions,
    other: () => createOrmBroker({ url: `sqlite:${file}`, poll: 60_000 }),
  };
}

const dialects = [
  { name: 'SQLite', skip: undefined, open: countedSqlite },
  { name: 'PostgreSQL', skip: postgresSkip, open: countedPostgres },
];

for (const dialect of dialects) {
  describe.skipIf(dialect.skip !== undefined)(`orm releases in batches (${dialect.name})`, () => {
    it('gives back 100 deliveries released together with one call, each at its own delay', async () => {
      const counted = await dialect.open();
      const queue = uniqueName('q');
      try {
        await counted.broker.enqueue(
          queue,
          Array.from({ length: 100 }, (_, index) => encode(`p${index}`)),
        );
        const held = await counted.broker.reserve(queue, { max: 100, leaseMs: 60_000, waitMs: 0 });
        expect(held).toHaveLength(100);
        const before = counted.releaseCalls();
        await Promise.all(
          held.map((delivery, index) =>
            counted.broker.release(delivery, { delayMs: index % 2 === 0 ? 0 : 3_600_000 }),
          ),
        );
        expect(counted.releaseCalls() - before).toBe(1);
        expect(await counted.broker.size(queue)).toEqual({ ready: 50, delayed: 50, reserved: 0, dead: 0 });
        const again = await counted.broker.reserve(queue, { max: 100, leaseMs: 60_000, waitMs: 0 });
        expect(again.map((delivery) => delivery.deliveries)).toEqual(Array(50).fill(2));
      } finally {
        await counted.broker.close();
      }
    });

    it('of two releases of one delivery in one batch, the first takes effect and the second loses the lease', async () => {
      const counted = await dialect.open();
      const queue = uniqueName('q');
      try {
        await counted.broker.enqueue(queue, [encode('a'), encode('b')]);
        const [first, second] = await counted.broker.reserve(queue, { max: 2, leaseMs: 60_000, waitMs: 0 });
        const settled = await Promise.allSettled([
          counted.broker.release(first!),
          counted.broker.release(first!, { delayMs: 3_600_000 }),
          counted.broker.release(second!),
        ]);
        expect(settled.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
        expect(await counted.broker.size(queue)).toMatchObject({ ready: 2, delayed: 0 });
        // A stale receipt in a batch fails alone.
        const [current] = await counted.broker.reserve(queue, { max: 1, leaseMs: 60_000, waitMs: 0 });
        const stale = await Promise.allSettled([
          counted.broker.release(first!),
          counted.broker.release(current!),
        ]);
        expect(stale.map((result) => result.status)).toEqual(['rejected', 'fulfilled']);
      } finally {
        await counted.broker.close();
      }
    });

    it('wakes a consumer waiting on another connection when a batch is released', async () => {
      const counted = await dialect.open();
      const consumer = await counted.other();
      const queue = uniqueName('q');
      try {
        await counted.broker.enqueue(queue, [encode('a'), encode('b'), encode('c')]);
        const held = await counted.broker.reserve(queue, { max: 3, leaseMs: 60_000, waitMs: 0 });
        // A one-minute poll and a 30 s wait: only a wake-up brings the packages before the wait ends.
        const waiting = consumer.reserve(queue, { max: 3, leaseMs: 60_000, waitMs: 30_000 });
        await new Promise((resolve) => setTimeout(resolve, 300));
        const releasedAt = Date.now();
        await Promise.all(held.map((delivery) => counted.broker.release(delivery)));
        const got = await waiting;
        expect(got.length).toBeGreaterThan(0);
        expect(Date.now() - releasedAt).toBeLessThan(10_000);
      } finally {
        await consumer.close();
        await counted.broker.close();
      }
    });
  });
}
