/**
 * Behaviour of the SQL broker beyond the shared conformance suite, on both dialects: wake-ups and
 * timers, migrations (several processes at once, a newer schema), handed-in handles, the embedded
 * default location, argument errors, and the claim's query plan.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import { InvalidArgumentError, LeaseLostError } from '@tasq/core/backend';
import { uniqueName } from '@tasq/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { knownSchemaVersion } from './migrations.js';
import { SchemaTooNewError } from './orm-errors.js';
import { createOrmBroker, createOrmResultBackend, migrate, type OrmOptions } from './index.js';
import { loadQuery } from './queries.js';
import { TableNames } from './table-names.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
} from './test-support/databases.js';

const execFileAsync = promisify(execFile);
const writerScript = fileURLToPath(new URL('./test-support/write-once.mjs', import.meta.url));
const encode = (value: string) => new TextEncoder().encode(value);
const decode = (body: Uint8Array) => new TextDecoder().decode(body);

const postgresSkip = await requirePostgres();
const folder = temporaryFolder('broker');
const schemas: string[] = [];

afterAll(async () => {
  folder.remove();
  if (!postgresSkip) for (const schema of schemas) await dropSchema(schema);
});

function postgresOptions(extra: OrmOptions = {}): OrmOptions {
  const schema = uniqueSchema('broker');
  schemas.push(schema);
  return { url: postgresUrl, schema, ...extra };
}

const dialects: { name: string; skip: string | undefined; options: (extra?: OrmOptions) => OrmOptions }[] = [
  {
    name: 'SQLite',
    skip: undefined,
    options: (extra = {}) => ({ url: `sqlite:${folder.file(`${uniqueName('db')}.db`)}`, ...extra }),
  },
  { name: 'PostgreSQL', skip: postgresSkip, options: postgresOptions },
];

for (const dialect of dialects) {
  describe.skipIf(dialect.skip !== undefined)(`orm broker on ${dialect.name}`, () => {
    it('wakes a waiting reserve for a delayed package at its due time, not at the next poll', async () => {
      // A one-minute poll: only the next-visible timer can deliver within the 5 s wait.
      const broker = await createOrmBroker(dialect.options({ poll: 60_000 }));
      try {
        const queue = uniqueName('delayed');
        await broker.enqueue(queue, [encode('soon')], { delayMs: 300 });
        const got = await broker.reserve(queue, { max: 1, leaseMs: 5_000, waitMs: 5_000 });
        expect(got.map((delivery) => decode(delivery.body))).toEqual(['soon']);
      } finally {
        await broker.close();
      }
    });

    it('wakes a waiting reserve when another broker in the process enqueues, with polling out of the way', async () => {
      const options = dialect.options({ poll: 60_000 });
      const consumer = await createOrmBroker(options);
      const producer = await createOrmBroker(options);
      try {
        const queue = uniqueName('wake');
        const waiting = consumer.reserve(queue, { max: 10, leaseMs: 5_000, waitMs: 10_000 });
        await new Promise((resolve) => setTimeout(resolve, 100));
        await producer.enqueue(queue, [encode('ping')]);
        expect((await waiting).map((delivery) => decode(delivery.body))).toEqual(['ping']);
      } finally {
        await consumer.close();
        await producer.close();
      }
    });

    it('stores a bulk enqueue with ids in body order and hands it out in that order', async () => {
      const broker = await createOrmBroker(dialect.options());
      try {
        const queue = uniqueName('bulk');
        const bodies = Array.from({ length: 2_500 }, (_, i) => `b${i}`);
        const ids = await broker.enqueue(queue, bodies.map(encode));
        expect(ids).toHaveLength(2_500);
        const numeric = ids.map(Number);
        expect(numeric.every((id, i) => i === 0 || id > numeric[i - 1]!)).toBe(true);
        const got = await broker.reserve(queue, { max: 1_000, leaseMs: 5_000, waitMs: 0 });
        expect(got.map((delivery) => decode(delivery.body))).toEqual(bodies.slice(0, 1_000));
        expect(got.map((delivery) => delivery.id)).toEqual(ids.slice(0, 1_000));
      } finally {
        await broker.close();
      }
    });

    it('acks a whole batch at once, and a duplicate or stale ack in it still raises LeaseLostError', async () => {
      const broker = await createOrmBroker(dialect.options());
      try {
        const queue = uniqueName('acks');
        await broker.enqueue(
          queue,
          Array.from({ length: 50 }, (_, i) => encode(`a${i}`)),
        );
        const batch = await broker.reserve(queue, { max: 50, leaseMs: 30_000, waitMs: 0 });
        expect(batch).toHaveLength(50);
        const stale = { ...batch[0]!, receipt: { token: 'a lease that moved on' } };
        const outcomes = await Promise.allSettled(
          [...batch, batch[1]!, stale].map((delivery) => broker.ack(delivery)),
        );
        expect(outcomes.slice(0, 50).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
        for (const outcome of outcomes.slice(50)) {
          expect(outcome.status).toBe('rejected');
          expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
        }
        expect(await broker.size(queue)).toMatchObject({ ready: 0, reserved: 0 });
      } finally {
        await broker.close();
      }
    });

    it('shares one connection between brokers of the same options, even when one closes while another opens', async () => {
      const options = dialect.options();
      const first = await createOrmBroker(options);
      const opening = createOrmBroker(options);
      const closing = first.close();
      const second = await opening;
      await closing;
      try {
        const queue = uniqueName('shared');
        await second.enqueue(queue, [encode('still open')]);
        const got = await second.reserve(queue, { max: 1, leaseMs: 5_000, waitMs: 1_000 });
        expect(got.map((delivery) => decode(delivery.body))).toEqual(['still open']);
      } finally {
        await second.close();
      }
    });

    it('refuses bad arguments with errors that name them, and keeps working', async () => {
      const broker = await createOrmBroker(dialect.options());
      try {
        const queue = uniqueName('bad');
        await expect(broker.enqueue(queue, [encode('x')], { priority: 10 })).rejects.toThrow(
          /priority must be an integer from 0 to 9/,
        );
        await expect(broker.enqueue(queue, ['text' as never])).rejects.toThrow(/Uint8Array/);
        await expect(broker.enqueue('', [encode('x')])).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(broker.reserve(queue, { max: 1_001, leaseMs: 1_000, waitMs: 0 })).rejects.toThrow(
          /max must be/,
        );
        const foreign = { id: '1', queue, body: encode('x'), deliveries: 1, receipt: 'not ours' };
        await expect(broker.ack(foreign)).rejects.toThrow(/receipt has no lease token/);
        await broker.enqueue(queue, [encode('still fine')]);
        expect((await broker.size(queue)).ready).toBe(1);
      } finally {
        await broker.close();
      }
    });

    it('refuses to run against a schema migrated by a newer version, naming both versions', async () => {
      const options = dialect.options();
      await migrate(options);
      const known = knownSchemaVersion(dialect.name === 'SQLite' ? 'sqlite' : 'postgres');
      if (dialect.name === 'SQLite') {
        const database = new DatabaseSync((options.url as string).slice('sqlite:'.length));
        database
          .prepare('INSERT INTO tasq_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(known + 1, 'future', Date.now());
        database.close();
      } else {
        const client = new pg.Client({ connectionString: postgresUrl });
        await client.connect();
        await client.query(
          `INSERT INTO "${options.schema}"."migrations" (version, name) VALUES ($1, 'future')`,
          [known + 1],
        );
        await client.end();
      }
      const error = await createOrmBroker(options).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SchemaTooNewError);
      expect((error as Error).message).toContain(`schema version ${known + 1}`);
      expect((error as Error).message).toContain(`up to ${known}`);
    });
  });
}

describe.skipIf(postgresSkip !== undefined)('orm on PostgreSQL with handed-in pools', () => {
  it('migrates exactly once when several pools start at once, and leaves the pools open', async () => {
    const schema = uniqueSchema('migrate');
    schemas.push(schema);
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: postgresUrl, max: 2 }));
    try {
      const brokers = await Promise.all(pools.map((pool) => createOrmBroker({ pool, schema })));
      const { rows } = await pools[0]!.query(`SELECT version FROM "${schema}"."migrations" ORDER BY version`);
      expect(rows.map((row) => row.version)).toEqual(
        Array.from({ length: knownSchemaVersion('postgres') }, (_, i) => i + 1),
      );
      const queue = uniqueName('pool');
      await brokers[0]!.enqueue(queue, [encode('shared')]);
      const got = await brokers[3]!.reserve(queue, { max: 1, leaseMs: 5_000, waitMs: 1_000 });
      expect(got.map((delivery) => decode(delivery.body))).toEqual(['shared']);
      for (const broker of brokers) await broker.close();
      // The application's pools are still usable.
      expect((await pools[1]!.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      for (const pool of pools) await pool.end();
    }
  });

  it('claims with one index range scan per priority, however many delayed high-priority rows wait, in custom and generic plans', async () => {
    const options = postgresOptions();
    const broker = await createOrmBroker(options);
    const queue = uniqueName('plan');
    const filler = Array.from({ length: 5_000 }, () => new Uint8Array(1));
    await broker.enqueue(queue, filler);
    await broker.enqueue(queue, filler, { priority: 5, delayMs: 600_000 });
    await broker.enqueue(uniqueName('other'), filler);
    await broker.close();
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    type PlanNode = {
      'Node Type': string;
      'Index Name'?: string;
      'Index Cond'?: string;
      'Actual Rows'?: number;
    };
    const nodesOf = (explained: { 'QUERY PLAN': { Plan: unknown }[] }[]): PlanNode[] => {
      const nodes: PlanNode[] = [];
      const walk = (node: PlanNode & { Plans?: unknown[] }) => {
        nodes.push(node);
        for (const child of node.Plans ?? []) walk(child as never);
      };
      walk(explained[0]!['QUERY PLAN'][0]!.Plan as never);
      return nodes;
    };
    const expectRangeScansOnly = (nodes: PlanNode[], condition: RegExp) => {
      const scans = nodes.filter(
        (node) => node['Node Type'].includes('Scan') && node['Node Type'] !== 'Subquery Scan',
      );
      const claimScans = scans.filter((node) => node['Index Name'] === 'packages_claim_index');
      expect(claimScans).toHaveLength(10);
      for (const scan of claimScans) expect(scan['Index Cond']).toMatch(condition);
      expect(nodes.some((node) => node['Node Type'] === 'Seq Scan' || node['Node Type'] === 'Sort')).toBe(
        false,
      );
    };
    try {
      await client.query(`ANALYZE "${options.schema}"."packages"`);
      const names = new TableNames({ schema: options.schema, prefix: '' });
      const reserve = loadQuery('postgres', 'reserve', names);
      const values: Record<string, unknown> = {
        queue,
        now: Date.now(),
        max: 50,
        lease_ms: 1_000,
        token: 'plan',
      };
      const bound = reserve.parameters.map((name) => values[name]);

      // The plan for these values, run (and rolled back).
      await client.query('BEGIN');
      const custom = nodesOf(
        (await client.query(`EXPLAIN (FORMAT JSON, ANALYZE) ${reserve.text}`, bound)).rows,
      );
      await client.query('ROLLBACK');
      expectRangeScansOnly(custom, /priority = \d.*visible_at <=/);
      // The 5,000 delayed priority-5 rows are not walked: the priority-5 branch finds nothing in its range.
      expect(custom.find((node) => node['Node Type'] === 'ModifyTable')?.['Actual Rows']).toBe(50);

      // The generic plan a prepared statement switches to after five runs: the same range scans.
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE claim_plan AS ${reserve.text}`);
      const literals = bound.map((value) => client.escapeLiteral(String(value))).join(', ');
      const generic = nodesOf(
        (await client.query(`EXPLAIN (FORMAT JSON) EXECUTE claim_plan(${literals})`)).rows,
      );
      expectRangeScansOnly(generic, /priority = \d.*visible_at <=/);

      // The next-visible timer: the first entry of each priority's range.
      const nextVisible = loadQuery('postgres', 'next-visible', names);
      await client.query(`PREPARE next_plan AS ${nextVisible.text}`);
      const timer = nodesOf(
        (await client.query(`EXPLAIN (FORMAT JSON) EXECUTE next_plan(${client.escapeLiteral(queue)})`)).rows,
      );
      expectRangeScansOnly(timer, /queue = .*priority = \d/);
    } finally {
      await client.end();
    }
  });
});

describe('orm on SQLite', () => {
  it('claims, and finds the next due time, with one index range per priority and no sort', async () => {
    const file = folder.file('plan.db');
    const broker = await createOrmBroker({ url: `sqlite:${file}` });
    await broker.enqueue('plan', [encode('x')]);
    await broker.close();
    const database = new DatabaseSync(file);
    try {
      const query = loadQuery('sqlite', 'reserve', new TableNames({ prefix: 'tasq_' }));
      const plan = database
        .prepare(`EXPLAIN QUERY PLAN ${query.text}`)
        .all({ queue: 'plan', now: Date.now(), max: 50, lease_ms: 1_000, token: 'plan' }) as {
        detail: string;
      }[];
      const details = plan.map((row) => row.detail);
      expect(
        details.filter(
          (detail) =>
            detail ===
            'SEARCH tasq_packages USING INDEX tasq_packages_claim_index (queue=? AND priority=? AND visible_at<?)',
        ),
      ).toHaveLength(10);
      expect(details.some((detail) => /^SCAN tasq_packages|TEMP B-TREE/.test(detail))).toBe(false);
      const timer = loadQuery('sqlite', 'next-visible', new TableNames({ prefix: 'tasq_' }));
      const timerPlan = (
        database.prepare(`EXPLAIN QUERY PLAN ${timer.text}`).all({ queue: 'plan' }) as { detail: string }[]
      ).map((row) => row.detail);
      expect(
        timerPlan.filter(
          (detail) =>
            detail === 'SEARCH tasq_packages USING INDEX tasq_packages_claim_index (queue=? AND priority=?)',
        ),
      ).toHaveLength(10);
      expect(timerPlan.some((detail) => /^SCAN tasq_packages|TEMP B-TREE/.test(detail))).toBe(false);
    } finally {
      database.close();
    }
  });

  it('wakes a waiting reserve and a result wait when another process writes the file, long before a poll', async () => {
    const url = `sqlite:${folder.file('cross-process.db')}`;
    // A one-minute poll: only the change watcher (PRAGMA data_version) can deliver within the waits.
    const broker = await createOrmBroker({ url, poll: 60_000 });
    const backend = await createOrmResultBackend({ url, poll: 60_000 });
    const writeOnce = (...args: string[]) =>
      execFileAsync(process.execPath, ['--disable-warning=ExperimentalWarning', writerScript, url, ...args]);
    try {
      const queue = uniqueName('elsewhere');
      const waiting = broker.reserve(queue, { max: 1, leaseMs: 5_000, waitMs: 20_000 });
      await writeOnce('package', queue, 'from another process');
      expect((await waiting).map((delivery) => decode(delivery.body))).toEqual(['from another process']);

      const jobId = uniqueName('job');
      const result = backend.wait(jobId, 20_000);
      await writeOnce('result', jobId, 'done elsewhere');
      expect((await result)?.result).toBe('done elsewhere');
    } finally {
      await broker.close();
      await backend.close();
    }
  });

  it('migrates a fresh file exactly once when four processes open it at the same moment', async () => {
    const file = folder.file('fresh-for-four.db');
    const url = `sqlite:${file}`;
    await Promise.all(
      [0, 1, 2, 3].map((i) =>
        execFileAsync(process.execPath, [
          '--disable-warning=ExperimentalWarning',
          writerScript,
          url,
          'package',
          'fresh',
          `p${i}`,
        ]),
      ),
    );
    const database = new DatabaseSync(file);
    try {
      const versions = database.prepare('SELECT version FROM tasq_migrations ORDER BY version').all() as {
        version: number;
      }[];
      expect(versions.map((row) => row.version)).toEqual(
        Array.from({ length: knownSchemaVersion('sqlite') }, (_, i) => i + 1),
      );
      const bodies = database.prepare("SELECT body FROM tasq_packages WHERE queue = 'fresh'").all() as {
        body: Uint8Array;
      }[];
      expect(bodies.map((row) => decode(row.body)).sort()).toEqual(['p0', 'p1', 'p2', 'p3']);
    } finally {
      database.close();
    }
  });

  it('uses a handed-in DatabaseSync and leaves it open on close', async () => {
    const database = new DatabaseSync(folder.file('handed-in.db'));
    const broker = await createOrmBroker({ database });
    const backend = await createOrmResultBackend({ database });
    await broker.enqueue('mine', [encode('x')]);
    await broker.close();
    await backend.close();
    expect(database.isOpen).toBe(true);
    expect((database.prepare('SELECT count(*) AS n FROM tasq_packages').get() as { n: number }).n).toBe(1);
    database.close();
  });

  it('with no location at all, creates ./.tasq/tasq.db in the working directory', async () => {
    const workingDirectory = mkdtempSync(path.join(tmpdir(), 'tasq-orm-default-'));
    const previous = process.cwd();
    process.chdir(workingDirectory);
    try {
      const broker = await createOrmBroker();
      await broker.enqueue('default', [encode('embedded')]);
      await broker.close();
      expect(existsSync(path.join(workingDirectory, '.tasq', 'tasq.db'))).toBe(true);
    } finally {
      process.chdir(previous);
      rmSync(workingDirectory, { recursive: true, force: true });
    }
  });
});
