/**
 * `keepUntilClaimed` on the SQL result backend beyond the shared conformance suite, on both dialects: a
 * claim whose ttl has passed holds its successes again, keys claimOnce could never take are refused, a
 * database at the schema version before the column is upgraded on open with its rows intact, and open
 * connections keep reading when a later migration adds a column (PostgreSQL's prepared statements).
 */
import { DatabaseSync } from 'node:sqlite';
import { InvalidArgumentError, ManualClock, type ScheduleRecord, type TaskResult } from '@tasq/core/backend';
import { uniqueName } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmResultBackend, createOrmScheduleStore, type OrmOptions } from './index.js';
import { knownSchemaVersion, readMigrations } from './migrations.js';
import { type DialectKind, substituteIdentifiers } from './queries.js';
import { encodeStored } from './stored-value.js';
import { TableNames } from './table-names.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
  withPostgresClient,
} from './test-support/databases.js';

const postgresSkip = await requirePostgres();
const folder = temporaryFolder('keep-until-claimed');
const schemas: string[] = [];

afterAll(async () => {
  folder.remove();
  if (!postgresSkip) for (const schema of schemas) await dropSchema(schema);
});

/** The migration that added the column; a database before it is at the version just below. */
const columnMigration = 'results_keep_until_claimed';

/** Ids in save order (prune keeps the highest). */
let sequence = 0;
function outcome(extra: Partial<TaskResult> = {}): TaskResult {
  const now = Date.now();
  sequence += 1;
  return {
    id: `${String(now).padStart(15, '0')}-${String(sequence).padStart(8, '0')}`,
    name: 'chords.member',
    queue: 'default',
    status: 'success',
    result: sequence,
    attempts: 1,
    enqueuedAt: now - 3,
    startedAt: now - 2,
    stoppedAt: now - 1,
    ...extra,
  };
}

interface OldDatabase {
  /** Run statements against the database as it was before the column, outside tasq. */
  setUp(statements: (names: TableNames) => { sql: string; values?: unknown[] }[]): Promise<void>;
  /** The versions recorded in the migrations table. */
  versions(): Promise<number[]>;
}

const dialects: {
  name: string;
  kind: DialectKind;
  skip: string | undefined;
  options: () => OrmOptions;
  old: (options: OrmOptions) => OldDatabase;
}[] = [
  {
    name: 'SQLite',
    kind: 'sqlite',
    skip: undefined,
    options: () => ({ url: `sqlite:${folder.file(`${uniqueName('db')}.db`)}` }),
    old: (options) => {
      const file = (options.url as string).slice('sqlite:'.length);
      const names = new TableNames({ prefix: 'tasq_' });
      return {
        async setUp(statements) {
          const database = new DatabaseSync(file);
          try {
            for (const { sql, values } of statements(names)) {
              if (values) database.prepare(sql).run(...(values as (string | number | null)[]));
              else database.exec(sql);
            }
          } finally {
            database.close();
          }
        },
        async versions() {
          const database = new DatabaseSync(file);
          try {
            const rows = database.prepare('SELECT version FROM tasq_migrations ORDER BY version').all();
            return rows.map((row) => Number(row.version));
          } finally {
            database.close();
          }
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    kind: 'postgres',
    skip: postgresSkip,
    options: () => {
      const schema = uniqueSchema('keep');
      schemas.push(schema);
      return { url: postgresUrl, schema };
    },
    old: (options) => {
      const names = new TableNames({ schema: options.schema, prefix: '' });
      return {
        setUp: (statements) =>
          withPostgresClient(async (client) => {
            for (const { sql, values } of statements(names)) await client.query(sql, values);
          }),
        versions: () =>
          withPostgresClient(async (client) => {
            const { rows } = await client.query(
              `SELECT version FROM "${options.schema}"."migrations" ORDER BY version`,
            );
            return rows.map((row) => Number(row.version));
          }),
      };
    },
  },
];

for (const dialect of dialects) {
  describe.skipIf(dialect.skip !== undefined)(
    `orm result backend keepUntilClaimed on ${dialect.name}`,
    () => {
      it('holds a success again once the claim of its key has expired, and releases it while a claim is live', async () => {
        const clock = new ManualClock(Date.now());
        const backend = await createOrmResultBackend(dialect.options(), { clock });
        try {
          const key = `chord:${uniqueName('group')}`;
          const held = outcome({ keepUntilClaimed: key });
          const plain = outcome();
          await backend.save(held);
          await backend.save(plain);
          const stored = async () => (await backend.list({ limit: 10 })).map((r) => r.id);

          expect(await backend.claimOnce(key, 1_000)).toBe(true);
          // The claim ends at its expiry time (claimOnce can take the key again from then on).
          await clock.advance(1_000);
          expect(await backend.prune({ saveLimit: -1 })).toBe(1);
          expect(await stored()).toEqual([held.id]);

          expect(await backend.claimOnce(key, 1_000)).toBe(true);
          await clock.advance(999);
          expect(await backend.prune({ saveLimit: -1 })).toBe(1);
          expect(await stored()).toEqual([]);
        } finally {
          await backend.close();
        }
      });

      it('refuses a keepUntilClaimed that claimOnce could never take', async () => {
        const backend = await createOrmResultBackend(dialect.options());
        try {
          await expect(backend.save(outcome({ keepUntilClaimed: '' }))).rejects.toThrow(InvalidArgumentError);
          await expect(backend.save(outcome({ keepUntilClaimed: 42 as unknown as string }))).rejects.toThrow(
            /keepUntilClaimed must be a non-empty string/,
          );
        } finally {
          await backend.close();
        }
      });

      it('keeps reading results and schedules on open connections after a later migration adds a column', async () => {
        const options = dialect.options();
        const backend = await createOrmResultBackend(options);
        const schedules = await createOrmScheduleStore(options);
        try {
          const saved = outcome({ group: uniqueName('group'), groupIndex: 0 });
          await backend.save(saved);
          const schedule: ScheduleRecord = {
            id: uniqueName('schedule'),
            name: uniqueName('nightly'),
            task: 'reports.build',
            args: [1],
            options: {},
            kind: 'minutes',
            minutes: 5,
            repeats: -1,
            nextRunAt: Date.now() - 1_000,
            paused: false,
            createdAt: Date.now() - 2_000,
          };
          await schedules.save(schedule);
          // Every read statement runs once, so the connection holds it prepared.
          const reads = async () => {
            expect(await backend.get(saved.id)).toEqual(saved);
            expect(await backend.group(saved.group!)).toEqual([saved]);
            expect((await backend.list({ limit: 10 })).map((r) => r.id)).toEqual([saved.id]);
            expect(await schedules.get(schedule.id)).toEqual(schedule);
            expect((await schedules.list()).map((s) => s.id)).toEqual([schedule.id]);
            expect((await schedules.due(Date.now(), 10)).map((s) => s.id)).toEqual([schedule.id]);
          };
          await reads();
          await dialect
            .old(options)
            .setUp((names) => [
              { sql: substituteIdentifiers('ALTER TABLE {{results}} ADD COLUMN added_later text', names) },
              { sql: substituteIdentifiers('ALTER TABLE {{schedules}} ADD COLUMN added_later text', names) },
            ]);
          await reads();
        } finally {
          await schedules.close();
          await backend.close();
        }
      });

      it('adds the column to a database at the previous schema version on open, keeping its results', async () => {
        const migrations = readMigrations(dialect.kind);
        const added = migrations.find((migration) => migration.name === columnMigration);
        expect(added).toBeDefined();
        const before = migrations.filter((migration) => migration.version < added!.version);
        const options = dialect.options();
        const old = dialect.old(options);
        const existing = outcome({ group: uniqueName('group'), groupIndex: 0 });
        await old.setUp((names) => [
          ...(dialect.kind === 'postgres'
            ? [{ sql: substituteIdentifiers('CREATE SCHEMA {{schema}}', names) }]
            : []),
          {
            sql: substituteIdentifiers(
              dialect.kind === 'postgres'
                ? 'CREATE TABLE {{migrations}} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())'
                : 'CREATE TABLE {{migrations}} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL DEFAULT 0)',
              names,
            ),
          },
          ...before.flatMap((migration) => [
            { sql: substituteIdentifiers(migration.source, names) },
            {
              sql: substituteIdentifiers(
                dialect.kind === 'postgres'
                  ? 'INSERT INTO {{migrations}} (version, name) VALUES ($1, $2)'
                  : 'INSERT INTO {{migrations}} (version, name) VALUES (?, ?)',
                names,
              ),
              values: [migration.version, migration.name],
            },
          ]),
          // A row as the code before the column wrote it.
          {
            sql: substituteIdentifiers(
              dialect.kind === 'postgres'
                ? `INSERT INTO {{results}} (id, name, queue, status, result, group_name, group_index, attempts,
                   enqueued_at, started_at, stopped_at) VALUES ($1, $2, $3, 'success', $4, $5, 0, 1, $6, $7, $8)`
                : `INSERT INTO {{results}} (id, name, queue, status, result, group_name, group_index, attempts,
                   enqueued_at, started_at, stopped_at) VALUES (?, ?, ?, 'success', ?, ?, 0, 1, ?, ?, ?)`,
              names,
            ),
            values: [
              existing.id,
              existing.name,
              existing.queue,
              encodeStored(existing.result),
              existing.group,
              existing.enqueuedAt,
              existing.startedAt,
              existing.stoppedAt,
            ],
          },
        ]);
        expect(await old.versions()).toEqual(before.map((migration) => migration.version));

        const backend = await createOrmResultBackend(options);
        try {
          expect(await old.versions()).toEqual(
            Array.from({ length: knownSchemaVersion(dialect.kind) }, (_, i) => i + 1),
          );
          const read = await backend.get(existing.id);
          expect(read).toEqual(existing);
          expect(read).not.toHaveProperty('keepUntilClaimed');
          const member = outcome({
            group: existing.group,
            groupIndex: 1,
            keepUntilClaimed: 'chord:upgraded',
          });
          await backend.save(member);
          expect(await backend.group(existing.group!)).toEqual([existing, member]);
          expect(await backend.wait(member.id, 1_000)).toEqual(member);
          // The row written before the upgrade has no key, so it is pruned like any success.
          expect(await backend.prune({ saveLimit: -1 })).toBe(1);
          expect((await backend.list({ limit: 10 })).map((r) => r.id)).toEqual([member.id]);
        } finally {
          await backend.close();
        }
      });
    },
  );
}
