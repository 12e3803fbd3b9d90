/**
 * Result saves are gathered into batches: one statement (PostgreSQL) or one transaction (SQLite) per
 * batch, one NOTIFY per 8,000 bytes of ids. Statements are counted at the driver: the test hands in
 * its own `pg.Pool` or `DatabaseSync` and counts what reaches it.
 */
import { DatabaseSync } from 'node:sqlite';
import { BrokerConnectionError, BrokerError, type TaskResult } from '@tasq/core/backend';
import { uniqueName } from '@tasq/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmResultBackend, type OrmResultBackend } from './index.js';
import { decodeWakeKeys, encodeWakeKeys, maxPayloadBytes } from './postgres/notification-payload.js';
import { TableNames } from './table-names.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
} from './test-support/databases.js';

const postgresSkip = await requirePostgres();
const folder = temporaryFolder('result-batching');
const schemas: string[] = [];
const pools: pg.Pool[] = [];

afterAll(async () => {
  for (const pool of pools) await pool.end();
  if (!postgresSkip) for (const schema of schemas) await dropSchema(schema);
  folder.remove();
});

function outcome(id: string, extra: Partial<TaskResult> = {}): TaskResult {
  return {
    id,
    name: 'reports.build',
    queue: 'default',
    status: 'success',
    result: { id },
    attempts: 1,
    enqueuedAt: 1_000,
    startedAt: 2_000,
    stoppedAt: 3_000,
    ...extra,
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A backend over a handle of the test's own, with the count of save statements (or transactions) it sent. */
interface Counted {
  backend: OrmResultBackend;
  saveStatements(): number;
  /** Another backend on the same database. */
  reopen(): Promise<OrmResultBackend>;
  /** Run SQL on the same database, `{{results}}` naming the backend's results table. */
  sql(text: string): Promise<void>;
}

async function countedPostgres(
  extra: { poll?: number } = {},
  schema = uniqueSchema('batching'),
): Promise<Counted> {
  if (!schemas.includes(schema)) schemas.push(schema);
  const pool = new pg.Pool({ connectionString: postgresUrl, max: 10 });
  pools.push(pool);
  let statements = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  // Statements are prepared under a name starting with the query file's name.
  pool.query = ((...args: unknown[]) => {
    const config = args[0] as { name?: string };
    if (typeof config === 'object' && config.name?.startsWith('tasq_result-save_')) statements += 1;
    return query(...args);
  }) as typeof pool.query;
  const backend = await createOrmResultBackend({ pool, schema, ...extra });
  const table = `"${schema}"."results"`;
  return {
    backend,
    saveStatements: () => statements,
    reopen: () => createOrmResultBackend({ pool, schema }),
    sql: async (text) => {
      await pool.query(text.replaceAll('{{results}}', table).replaceAll('{{schema}}', `"${schema}"`));
    },
  };
}

async function countedSqlite(): Promise<Counted> {
  const database = new DatabaseSync(folder.file(`${uniqueName('db')}.db`));
  const backend = await createOrmResultBackend({ database });
  let transactions = 0;
  const exec = database.exec.bind(database);
  database.exec = (text: string) => {
    if (text === 'BEGIN IMMEDIATE') transactions += 1;
    exec(text);
  };
  return {
    backend,
    saveStatements: () => transactions,
    reopen: () => createOrmResultBackend({ database }),
    sql: async (text) => {
      exec(text.replaceAll('{{results}}', 'tasq_results').replaceAll('{{schema}}.', ''));
    },
  };
}

const dialects = [
  { name: 'SQLite', skip: undefined, open: () => countedSqlite() },
  { name: 'PostgreSQL', skip: postgresSkip, open: () => countedPostgres() },
];

/** A trigger that refuses rows matching `condition` (SQL over the new row `NEW`). */
async function refuseRows(dialect: string, counted: Counted, condition: string): Promise<void> {
  if (dialect === 'SQLite') {
    await counted.sql(
      `CREATE TRIGGER refuse_results BEFORE INSERT ON {{results}} WHEN ${condition} BEGIN SELECT RAISE(ABORT, 'row refused by the test trigger'); END`,
    );
    return;
  }
  await counted.sql(
    `CREATE FUNCTION {{schema}}.refuse_results() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'row refused by the test trigger'; END $$`,
  );
  await counted.sql(
    `CREATE TRIGGER refuse_results BEFORE INSERT ON {{results}} FOR EACH ROW WHEN (${condition}) EXECUTE FUNCTION {{schema}}.refuse_results()`,
  );
}

for (const dialect of dialects) {
  describe.skipIf(dialect.skip !== undefined)(`orm result saves in batches (${dialect.name})`, () => {
    it('writes 200 saves made together with one statement, and every one is readable', async () => {
      const counted = await dialect.open();
      try {
        const ids = Array.from({ length: 200 }, (_, index) => `job-${index}`);
        await Promise.all(ids.map((id) => counted.backend.save(outcome(id))));
        expect(counted.saveStatements()).toBe(1);
        for (const id of ids) {
          expect(await counted.backend.get(id)).toMatchObject({ id, status: 'success', result: { id } });
        }
      } finally {
        await counted.backend.close();
      }
    });

    it('sends the saves made while a batch is in flight together, as the next batch', async () => {
      const counted = await dialect.open();
      try {
        const first = counted.backend.save(outcome('first'));
        await nextTurn();
        const later = Array.from({ length: 50 }, (_, index) =>
          counted.backend.save(outcome(`later-${index}`)),
        );
        await Promise.all([first, ...later]);
        expect(counted.saveStatements()).toBe(2);
        expect(await counted.backend.get('later-49')).toMatchObject({ id: 'later-49' });
      } finally {
        await counted.backend.close();
      }
    });

    it('keeps the later of two saves of one id in one batch, and resolves both', async () => {
      const counted = await dialect.open();
      try {
        const earlier = counted.backend.save(
          outcome('twice', { status: 'failure', error: { name: 'E', message: 'first try' } }),
        );
        const later = counted.backend.save(outcome('twice', { attempts: 2, result: 'second try' }));
        const other = counted.backend.save(outcome('once'));
        await Promise.all([earlier, later, other]);
        expect(counted.saveStatements()).toBe(1);
        const stored = await counted.backend.get('twice');
        expect(stored).toMatchObject({ status: 'success', attempts: 2, result: 'second try' });
        expect(stored?.error).toBeUndefined();
        expect(await counted.backend.get('once')).toMatchObject({ id: 'once' });

        // And across batches: the save made while the first is in flight is written after it.
        const first = counted.backend.save(outcome('again', { result: 'one' }));
        await nextTurn();
        await Promise.all([first, counted.backend.save(outcome('again', { result: 'two' }))]);
        expect(await counted.backend.get('again')).toMatchObject({ result: 'two' });
      } finally {
        await counted.backend.close();
      }
    });

    it('rejects every caller of a batch the database refuses, and stores none of it', async () => {
      const counted = await dialect.open();
      try {
        await refuseRows(dialect.name, counted, "NEW.name = 'reports.build'");
        const ids = Array.from({ length: 20 }, (_, index) => `refused-${index}`);
        const settled = await Promise.allSettled(ids.map((id) => counted.backend.save(outcome(id))));
        settled.forEach((result, index) => {
          expect(result.status).toBe('rejected');
          const reason = (result as PromiseRejectedResult).reason as Error;
          expect(reason).toBeInstanceOf(BrokerError);
          expect(reason).not.toBeInstanceOf(BrokerConnectionError);
          expect(reason.message).toContain(`save of result ${ids[index]}`);
          expect(reason.message).toContain('row refused by the test trigger');
        });
        for (const id of ids) expect(await counted.backend.get(id)).toBeUndefined();
      } finally {
        await counted.backend.close();
      }
    });

    it('writes the other rows of a batch when one row is refused, and rejects only that save', async () => {
      const counted = await dialect.open();
      try {
        await refuseRows(dialect.name, counted, "NEW.name = 'poison'");
        const good = Array.from({ length: 10 }, (_, index) => `good-${index}`);
        const saves = good.map((id) => counted.backend.save(outcome(id)));
        const bad = counted.backend.save(outcome('bad', { name: 'poison' }));
        const settled = await Promise.allSettled([...saves, bad]);
        expect(settled.slice(0, 10).every((result) => result.status === 'fulfilled')).toBe(true);
        expect(settled[10]?.status).toBe('rejected');
        expect(((settled[10] as PromiseRejectedResult).reason as Error).message).toContain(
          'save of result bad',
        );
        for (const id of good) expect(await counted.backend.get(id)).toMatchObject({ id });
        expect(await counted.backend.get('bad')).toBeUndefined();
      } finally {
        await counted.backend.close();
      }
    });

    it('writes the saves still gathering when the backend closes', async () => {
      const counted = await dialect.open();
      const ids = Array.from({ length: 30 }, (_, index) => `closing-${index}`);
      const saves = ids.map((id) => counted.backend.save(outcome(id)));
      await counted.backend.close();
      await Promise.all(saves);
      const reader = await counted.reopen();
      try {
        for (const id of ids) expect(await reader.get(id)).toMatchObject({ id });
      } finally {
        await reader.close();
      }
    });
  });
}

describe.skipIf(postgresSkip !== undefined)('orm result saves in batches: NOTIFY (PostgreSQL)', () => {
  it('wakes a waiter on another connection for every id of a batch, across several NOTIFY payloads', async () => {
    const schema = uniqueSchema('batching');
    const writer = await countedPostgres({}, schema);
    // A poll of a minute: only a notification can wake these waiters before their 20 s timeout.
    const waiterSide = await countedPostgres({ poll: 60_000 }, schema);
    const listener = new pg.Client({ connectionString: postgresUrl });
    await listener.connect();
    const payloads: string[] = [];
    listener.on('notification', (message) => payloads.push(message.payload ?? ''));
    const channel = new TableNames({ schema, prefix: '' }).channel('results');
    await listener.query(`LISTEN "${channel}"`);
    try {
      // Ids of ~100 bytes: 300 of them need four payloads of under 8,000 bytes.
      const ids = Array.from(
        { length: 300 },
        (_, index) => `${'x'.repeat(96)}-${String(index).padStart(3, '0')}`,
      );
      await waiterSide.backend.wait('warm-up', 1); // LISTEN in place before the waits start
      const waits = ids.map((id) => waiterSide.backend.wait(id, 20_000));
      await new Promise((resolve) => setTimeout(resolve, 500)); // every waiter has looked once and sleeps
      const savedAt = Date.now();
      await Promise.all(ids.map((id) => writer.backend.save(outcome(id))));
      const found = await Promise.all(waits);
      const wokenWithinMs = Date.now() - savedAt;

      expect(found.map((result) => result?.id)).toEqual(ids);
      // Below the 20 s a missed notification would take (and the 60 s poll), with room for a slow machine.
      expect(wokenWithinMs).toBeLessThan(15_000);
      expect(writer.saveStatements()).toBe(1);
      const deadline = Date.now() + 5_000;
      while (payloads.length < 4 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(payloads).toHaveLength(4);
      for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(maxPayloadBytes);
      expect(payloads.flatMap((payload) => decodeWakeKeys(payload).slice(1))).toEqual(ids);
    } finally {
      await listener.end();
      await writer.backend.close();
      await waiterSide.backend.close();
    }
  });
});

describe.skipIf(postgresSkip !== undefined)(
  'orm result saves in batches: array parameters (PostgreSQL)',
  () => {
    it('stores every text of a batch as it was, whatever characters it holds', async () => {
      const schema = uniqueSchema('literal');
      const writer = await countedPostgres({}, schema);
      const awkward = [
        'back\\slash',
        'a "quoted" word',
        '{braces, commas}',
        'NULL',
        ' spaced ',
        'é ✓ 漢',
        '',
      ];
      try {
        const saved = awkward.map((text, index) =>
          outcome(`literal-${index}`, {
            name: `task ${text}`,
            result: { text, list: [text, null] },
            args: [text],
            ...(index % 2 === 0 ? { group: `group ${text}`, groupIndex: index } : {}),
          }),
        );
        await Promise.all(saved.map((result) => writer.backend.save(result)));
        expect(writer.saveStatements()).toBe(1);
        for (const result of saved) expect(await writer.backend.get(result.id)).toEqual(result);
      } finally {
        await writer.backend.close();
      }
    });
  },
);

describe('NOTIFY payloads of several ids', () => {
  it('fits the ids into as few payloads as the byte limit allows, in order', () => {
    const ids = Array.from({ length: 1_000 }, (_, index) => `job-${index}-é✓`);
    const payloads = encodeWakeKeys(ids);
    expect(payloads.length).toBeGreaterThan(1);
    for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThanOrEqual(maxPayloadBytes);
    // Each payload but the last is full: the next payload's first id would not have fitted.
    payloads.slice(0, -1).forEach((payload, index) => {
      const next = JSON.stringify(decodeWakeKeys(payloads[index + 1]!)[1]);
      expect(Buffer.byteLength(payload) + 1 + Buffer.byteLength(next)).toBeGreaterThan(maxPayloadBytes);
    });
    expect(payloads.flatMap((payload) => decodeWakeKeys(payload).slice(1))).toEqual(ids);
  });

  it('puts a batch of a few ids in one payload', () => {
    expect(encodeWakeKeys(['a', 'b"c', 'd\ne'])).toEqual([JSON.stringify(['a', 'b"c', 'd\ne'])]);
  });

  it('leaves out an id too long for any payload', () => {
    const long = 'y'.repeat(maxPayloadBytes);
    expect(encodeWakeKeys(['a', long, 'b'])).toEqual(['["a","b"]']);
  });

  it('reads a plain key (a queue name, an id notified alone) as itself', () => {
    expect(decodeWakeKeys('emails')).toEqual(['emails']);
    expect(decodeWakeKeys('[not json')).toEqual(['[not json']);
    expect(decodeWakeKeys('["a","b"]')).toEqual(['["a","b"]', 'a', 'b']);
  });
});
