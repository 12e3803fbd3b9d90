/**
 * The administration reads are served by indexes, not by scanning a queue: a page of 50 from a queue of
 * 1,000,000 packages reads about 50 index entries, on PostgreSQL (EXPLAIN ANALYZE of the statements the
 * broker runs, in custom and generic plans) and on SQLite (EXPLAIN QUERY PLAN). Plans, not timings.
 */
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmBroker } from './index.js';
import { loadQuery, type QueryName } from './queries.js';
import { TableNames } from './table-names.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
} from './test-support/databases.js';
import { nodesOf, type PlanNode } from './test-support/query-plans.js';

const postgresSkip = await requirePostgres();
const folder = temporaryFolder('admin-plans');
const schemas: string[] = [];
const QUEUE_ROWS = 1_000_000;

afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
  folder.remove();
});

describe.skipIf(postgresSkip !== undefined)(
  `administration plans on PostgreSQL${postgresSkip ? `: skipped: ${postgresSkip}` : ''}`,
  () => {
    it('lists 50 of a 1,000,000-package queue, pages on, finds by job id and lists dead letters through indexes alone', async () => {
      const schema = uniqueSchema('adminplan');
      schemas.push(schema);
      // Creates the schema and its tables through the migrations.
      await (await createOrmBroker({ url: postgresUrl, schema })).close();
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        const table = `"${schema}"."packages"`;
        const now = Date.now();
        // A thousand packages on a small queue, then a million on a big one (so a walk of the primary key
        // from the newest row would read the whole big queue before reaching the small one), then fifty
        // dead letters on the big queue.
        await client.query(
          `INSERT INTO ${table} (queue, body, job_id, task, priority, visible_at, enqueued_at)
         SELECT 'small', '\\x00'::bytea, 'small-' || n, 'odd', 0, $1::bigint, $1::bigint
         FROM generate_series(1, 1000) AS n`,
          [now],
        );
        await client.query(
          `INSERT INTO ${table} (queue, body, job_id, task, priority, visible_at, enqueued_at)
         SELECT 'big', '\\x00'::bytea, 'job-' || lpad(n::text, 8, '0'), CASE WHEN n % 2 = 0 THEN 'even' ELSE 'odd' END,
                0, $1::bigint, $1::bigint
         FROM generate_series(1, ${QUEUE_ROWS}) AS n`,
          [now],
        );
        await client.query(
          `INSERT INTO ${table} (queue, body, job_id, task, priority, visible_at, enqueued_at, dead_at, dead_reason)
         SELECT 'big', '\\x00'::bytea, 'dead-' || n, 'odd', 0, $1::bigint, $1::bigint, $1::bigint + n, 'x'
         FROM generate_series(1, 50) AS n`,
          [now],
        );
        await client.query(`ANALYZE ${table}`);
        const names = new TableNames({ schema, prefix: '' });

        const explain = async (query: QueryName, values: Record<string, unknown>, generic = false) => {
          const loaded = loadQuery('postgres', query, names);
          const bound = loaded.parameters.map((name) => values[name] ?? null);
          if (!generic) {
            return nodesOf((await client.query(`EXPLAIN (FORMAT JSON, ANALYZE) ${loaded.text}`, bound)).rows);
          }
          // The plan a prepared statement switches to after five runs.
          await client.query('SET plan_cache_mode = force_generic_plan');
          const statement = `plan_${query.replaceAll('-', '_')}`;
          await client.query(`PREPARE ${statement} AS ${loaded.text}`);
          const literals = bound.map((value) =>
            value === null ? 'NULL' : client.escapeLiteral(String(value)),
          );
          const plan = nodesOf(
            (
              await client.query(
                `EXPLAIN (FORMAT JSON, ANALYZE) EXECUTE ${statement}(${literals.join(', ')})`,
              )
            ).rows,
          );
          await client.query(`DEALLOCATE ${statement}`);
          await client.query('RESET plan_cache_mode');
          return plan;
        };
        /**
         * One index scan, no sequential scan, no sort, and at most `maxRows` entries read. `index` undefined:
         * any index (for the queue that holds nearly every row, the planner may walk the primary key
         * backwards instead of the list index: the same 51 entries).
         */
        const expectIndexOnly = (nodes: PlanNode[], index: string | undefined, maxRows: number) => {
          expect(
            nodes.some((node) => node['Node Type'] === 'Seq Scan' || node['Node Type'].includes('Sort')),
          ).toBe(false);
          const scans = nodes.filter((node) => node['Node Type'].includes('Index'));
          expect(scans).toHaveLength(1);
          if (index !== undefined) expect(scans[0]!['Index Name']).toBe(index);
          expect(scans[0]!['Actual Rows']).toBeLessThanOrEqual(maxRows);
        };
        /**
         * A page of live packages: one backward range scan of the claim index per priority, each stopping
         * after `maxRows` entries (the outer sort orders those few rows), no sequential scan.
         */
        const expectClaimRanges = (nodes: PlanNode[], maxRows: number) => {
          expect(nodes.some((node) => node['Node Type'] === 'Seq Scan')).toBe(false);
          const scans = nodes.filter((node) => node['Node Type'].includes('Index'));
          expect(scans).toHaveLength(10);
          for (const scan of scans) {
            expect(scan['Index Name']).toBe('packages_claim_index');
            expect(scan['Index Cond']).toMatch(/queue = .*priority = \d.*visible_at/);
            expect(scan['Actual Rows']).toBeLessThanOrEqual(maxRows);
          }
        };
        const page = {
          queue: 'big',
          now: now + 1,
          after_at: '-9223372036854775808',
          until_at: '9223372036854775807',
          skip_reserved: 0,
          skip_delayed: 0,
          before_at: '9223372036854775807',
          before_id: '9223372036854775807',
          limit: 51,
        };
        // A page deep in the queue: the cursor caps the range (visible_at <= the cursor's).
        const deep = { ...page, until_at: now, before_at: now, before_id: 400_000 };
        for (const generic of [false, true]) {
          expectClaimRanges(await explain('admin-list', page, generic), 51);
          expectClaimRanges(await explain('admin-list', deep, generic), 51);
          expectClaimRanges(await explain('admin-list', { ...page, queue: 'small' }, generic), 51);
        }
        // A task filter reads the same ranges newest first, every other row matching here.
        expectClaimRanges(await explain('admin-list', { ...page, task: 'even' }), 102);
        for (const generic of [false, true]) {
          expectIndexOnly(
            await explain('admin-find', { job_id: 'job-00500000' }, generic),
            'packages_job_index',
            1,
          );
          expectIndexOnly(
            await explain('admin-remove', { job_id: 'job-00500000', now: 0 }, generic),
            'packages_job_index',
            1,
          );
          expectIndexOnly(
            await explain(
              'admin-list-dead',
              { queue: 'big', limit: 21, before_at: now + 30, before_id: 9_999_999_999 },
              generic,
            ),
            'packages_dead_order',
            21,
          );
        }
      } finally {
        await client.end();
      }
    }, 180_000);
  },
);

describe('administration plans on SQLite', () => {
  it('lists 50 of a 1,000,000-package queue, pages on, finds by job id and lists dead letters through indexes alone', async () => {
    const file = folder.file('admin-plan.db');
    await (await createOrmBroker({ url: `sqlite:${file}` })).close();
    const database = new DatabaseSync(file);
    try {
      const now = Date.now();
      database.exec(`
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
        INSERT INTO tasq_packages (queue, body, job_id, task, priority, visible_at, enqueued_at)
        SELECT 'small', x'00', 'small-' || i, 'odd', 0, ${now}, ${now} FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${QUEUE_ROWS})
        INSERT INTO tasq_packages (queue, body, job_id, task, priority, visible_at, enqueued_at)
        SELECT 'big', x'00', printf('job-%08d', i), CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END, 0, ${now}, ${now} FROM n;
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)
        INSERT INTO tasq_packages (queue, body, job_id, task, priority, visible_at, enqueued_at, dead_at, dead_reason)
        SELECT 'big', x'00', 'dead-' || i, 'odd', 0, ${now}, ${now}, ${now} + i, 'x' FROM n;
        ANALYZE;
      `);
      const names = new TableNames({ prefix: 'tasq_' });
      const plan = (query: QueryName, values: Record<string, unknown>) => {
        const loaded = loadQuery('sqlite', query, names);
        const bound = Object.fromEntries(
          loaded.parameters.map((name) => [name, (values[name] ?? null) as never]),
        );
        return (database.prepare(`EXPLAIN QUERY PLAN ${loaded.text}`).all(bound) as { detail: string }[]).map(
          (row) => row.detail,
        );
      };
      const expectSearch = (details: string[], index: string) => {
        expect(details.some((detail) => detail.startsWith(`SEARCH tasq_packages USING INDEX ${index}`))).toBe(
          true,
        );
        expect(details.some((detail) => /^SCAN tasq_packages|TEMP B-TREE/.test(detail))).toBe(false);
      };
      const page = {
        queue: 'big',
        now: now + 1,
        after_at: -9223372036854775808n,
        until_at: 9223372036854775807n,
        skip_reserved: 0,
        skip_delayed: 0,
        before_at: 9223372036854775807n,
        before_id: 9223372036854775807n,
        limit: 51,
      };
      // One range of the claim index per priority, each in index order and stopped by its LIMIT (the
      // temporary trees merge those few rows).
      const expectClaimRanges = (details: string[]) => {
        const ranges = details.filter(
          (detail) =>
            detail ===
            'SEARCH tasq_packages USING INDEX tasq_packages_claim_index (queue=? AND priority=? AND visible_at>? AND visible_at<?)',
        );
        expect(ranges).toHaveLength(10);
        expect(details.some((detail) => /^SCAN tasq_packages/.test(detail))).toBe(false);
      };
      expectClaimRanges(plan('admin-list', page));
      expectClaimRanges(plan('admin-list', { ...page, queue: 'small' }));
      expectClaimRanges(
        plan('admin-list', { ...page, until_at: now, before_at: now, before_id: 400_000, task: 'even' }),
      );
      expectSearch(plan('admin-find', { job_id: 'job-00500000' }), 'tasq_packages_job_index (job_id=?)');
      expectSearch(
        plan('admin-remove', { job_id: 'job-00500000', now: 0 }),
        'tasq_packages_job_index (job_id=?)',
      );
      // The dead index of migration 0001 ends with the rowid: it is ordered by (dead_at, id) already.
      expectSearch(plan('admin-list-dead', { queue: 'big', limit: 21 }), 'tasq_packages_dead_index (queue=?');
      // The rows a page reads: the statement stops after 51 index entries however deep the queue.
      const loaded = loadQuery('sqlite', 'admin-list', names);
      const statement = database.prepare(loaded.text);
      const rows = statement.all(
        Object.fromEntries(
          loaded.parameters.map((name) => [name, ((page as Record<string, unknown>)[name] ?? null) as never]),
        ),
      );
      expect(rows).toHaveLength(51);
    } finally {
      database.close();
    }
  }, 180_000);
});
