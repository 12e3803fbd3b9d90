/**
 * A queue's size is counted from its own entries of the packages table's partial indexes, never by
 * scanning the table: a queue of 1,000 packages sharing the table with a queue of 1,000,000 reads its
 * 1,000 index entries, on PostgreSQL (EXPLAIN ANALYZE of the statement the broker runs, planned with its
 * values as the broker's unnamed statement is) and on SQLite (EXPLAIN QUERY PLAN). The counts themselves
 * are checked through `broker.size`. An exact count of the big queue still reads each of its own entries
 * (PostgreSQL may read the table for a queue that is most of it): that cost is the big queue's alone.
 * Plans, not timings.
 */
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmBroker } from './index.js';
import { loadQuery } from './queries.js';
import { TableNames } from './table-names.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
} from './test-support/databases.js';
import { nodesOf } from './test-support/query-plans.js';

const postgresSkip = await requirePostgres();
const folder = temporaryFolder('size-plans');
const schemas: string[] = [];
const BIG_QUEUE_ROWS = 1_000_000;
const HOUR = 3_600_000;

afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
  folder.remove();
});

/**
 * The small queue's 1,000 packages in every state: 600 ready, 50 whose lease expired (ready again), 250
 * delayed, 70 reserved (leased, lease running), 30 dead. `n` runs 1..1000; `$now`-relative times.
 */
const smallQueueRows = (n: string, now: string) => `
  'small',
  CASE WHEN ${n} <= 650 THEN ${now} - 1000 ELSE ${now} + ${HOUR} END,
  CASE WHEN ${n} > 600 AND ${n} <= 650 THEN 'expired-' || ${n}
       WHEN ${n} > 900 AND ${n} <= 970 THEN 'lease-' || ${n} END,
  CASE WHEN ${n} > 970 THEN ${now} END`;
const smallQueueSize = { ready: 650, delayed: 250, reserved: 70, dead: 30 };

describe.skipIf(postgresSkip !== undefined)(
  `size plans on PostgreSQL${postgresSkip ? `: skipped: ${postgresSkip}` : ''}`,
  () => {
    it('counts a 1,000-package queue beside a 1,000,000-package one from its own index entries', async () => {
      const schema = uniqueSchema('sizeplan');
      schemas.push(schema);
      const broker = await createOrmBroker({ url: postgresUrl, schema });
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        const table = `"${schema}"."packages"`;
        const now = Date.now();
        await client.query(
          `INSERT INTO ${table} (queue, visible_at, lease_token, dead_at, body, enqueued_at)
           SELECT ${smallQueueRows('n', '$1::bigint')}, '\\x00'::bytea, $1::bigint
           FROM generate_series(1, 1000) AS n`,
          [now],
        );
        // The big queue: ready packages and a few dead ones, in the same table.
        await client.query(
          `INSERT INTO ${table} (queue, visible_at, dead_at, body, enqueued_at)
           SELECT 'big', $1::bigint - 1000, CASE WHEN n % 100000 = 0 THEN $1::bigint END, '\\x00'::bytea, $1::bigint
           FROM generate_series(1, ${BIG_QUEUE_ROWS}) AS n`,
          [now],
        );
        await client.query(`VACUUM ANALYZE ${table}`);

        expect(await broker.size('small')).toEqual(smallQueueSize);
        expect(await broker.size('big')).toEqual({ ready: 999_990, delayed: 0, reserved: 0, dead: 10 });
        expect(await broker.size('empty')).toEqual({ ready: 0, delayed: 0, reserved: 0, dead: 0 });

        const names = new TableNames({ schema, prefix: '' });
        const loaded = loadQuery('postgres', 'size', names);
        // The broker sends `size` unnamed, so each run is planned with its values: the plan EXPLAIN shows
        // for the same statement and values.
        const explain = async (queue: string) => {
          const bound = loaded.parameters.map((name) => ({ queue, now })[name as 'queue' | 'now']);
          return nodesOf((await client.query(`EXPLAIN (FORMAT JSON, ANALYZE) ${loaded.text}`, bound)).rows);
        };
        // The broker's size statement is never a prepared statement of its connection (which would switch
        // to a generic plan after five runs), where its other statements are.
        const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
        const pooled = await createOrmBroker({ pool, schema });
        try {
          for (let run = 0; run < 6; run += 1) await pooled.size('big');
          expect(await pooled.size('small')).toEqual(smallQueueSize);
          await pooled.purge('empty');
          const prepared = (await pool.query('SELECT name FROM pg_prepared_statements')).rows.map(
            (row: { name: string }) => row.name,
          );
          expect(prepared.some((name) => name.startsWith('tasq_purge_'))).toBe(true);
          expect(prepared.some((name) => name.startsWith('tasq_size_'))).toBe(false);
        } finally {
          await pooled.close();
          await pool.end();
        }
        const nodes = await explain('small');
        expect(nodes.some((node) => node['Node Type'].includes('Seq Scan'))).toBe(false);
        const scans = nodes.filter((node) => node['Relation Name'] === 'packages');
        // ready, not-yet-visible (delayed and reserved in one pass), dead: one index range each.
        expect(scans).toHaveLength(3);
        for (const scan of scans) {
          expect(scan['Node Type']).toMatch(/^Index (Only )?Scan$/);
          expect(['packages_claim_index', 'packages_dead_index', 'packages_dead_order']).toContain(
            scan['Index Name'],
          );
          expect(scan['Index Cond']).toMatch(/queue = 'small'/);
        }
        // Every entry read is one of the small queue's 1,000 (the three ranges together), none of the big
        // queue's million.
        const read = scans.reduce((sum, scan) => sum + scan['Actual Rows']! * (scan['Actual Loops'] ?? 1), 0);
        expect(read).toBe(1000);
        // The big queue is nearly the whole table: the planner may read the table for its ready count (its
        // own cost), but its not-yet-visible and dead counts stay index ranges (visible_at bounded within
        // each priority), not further passes over the table.
        const big = (await explain('big')).filter((node) => node['Relation Name'] === 'packages');
        expect(big.filter((node) => node['Node Type'].includes('Seq Scan')).length).toBeLessThanOrEqual(1);
        const later = big.find((node) => /visible_at > /.test(node['Index Cond'] ?? ''));
        expect(later?.['Index Cond']).toMatch(/queue = 'big'.*priority = ANY/);
        expect(big.some((node) => /^packages_dead_(index|order)$/.test(node['Index Name'] ?? ''))).toBe(true);
      } finally {
        await client.end();
        await broker.close();
      }
    }, 180_000);
  },
);

describe('size plans on SQLite', () => {
  it('counts a 1,000-package queue beside a 1,000,000-package one from its own index entries', async () => {
    const file = folder.file('size-plan.db');
    const broker = await createOrmBroker({ url: `sqlite:${file}` });
    const database = new DatabaseSync(file);
    try {
      const now = Date.now();
      database.exec(`
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
        INSERT INTO tasq_packages (queue, visible_at, lease_token, dead_at, body, enqueued_at)
        SELECT ${smallQueueRows('i', String(now))}, x'00', ${now} FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${BIG_QUEUE_ROWS})
        INSERT INTO tasq_packages (queue, visible_at, dead_at, body, enqueued_at)
        SELECT 'big', ${now} - 1000, CASE WHEN i % 100000 = 0 THEN ${now} END, x'00', ${now} FROM n;
        ANALYZE;
      `);
      expect(await broker.size('small')).toEqual(smallQueueSize);
      expect(await broker.size('big')).toEqual({ ready: 999_990, delayed: 0, reserved: 0, dead: 10 });
      expect(await broker.size('empty')).toEqual({ ready: 0, delayed: 0, reserved: 0, dead: 0 });

      // SQLite plans without the bound values, the same plan for every queue.
      const loaded = loadQuery('sqlite', 'size', new TableNames({ prefix: 'tasq_' }));
      for (const queue of ['small', 'big']) {
        const details = (
          database.prepare(`EXPLAIN QUERY PLAN ${loaded.text}`).all({ queue, now }) as { detail: string }[]
        ).map((row) => row.detail);
        expect(details.some((detail) => /^SCAN tasq_packages/.test(detail))).toBe(false);
        // One range of this queue per count: ready and not-yet-visible in the claim index, dead in the
        // dead-letter index (covering).
        expect(details.filter((detail) => detail.startsWith('SEARCH tasq_packages'))).toEqual([
          'SEARCH tasq_packages USING INDEX tasq_packages_claim_index (queue=? AND priority=? AND visible_at<?)',
          'SEARCH tasq_packages USING INDEX tasq_packages_claim_index (queue=? AND priority=? AND visible_at>?)',
          'SEARCH tasq_packages USING COVERING INDEX tasq_packages_dead_index (queue=? AND dead_at>?)',
        ]);
      }
    } finally {
      database.close();
      await broker.close();
    }
  }, 180_000);
});
