/**
 * SQLite through Node's built-in `node:sqlite` (no native build). One `DatabaseSync` per file per
 * process, WAL journal (readers never block the writer), a busy timeout for the write lock that several
 * processes share, and claims inside `BEGIN IMMEDIATE`. Every call is synchronous underneath: a
 * statement holds the event loop for its few microseconds, and a write that finds the lock taken waits
 * up to `busyTimeoutMs` (another process committing usually takes well under a millisecond).
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Clock } from '@tasq/core/backend';
import type {
  ClaimPackagesInput,
  InsertPackagesInput,
  Parameters,
  QueryOutcome,
  ReleasedLease,
  ResultRow,
  Row,
  SqlDialect,
  WakeTopic,
} from '../dialect.js';
import { leaseKey, type SettledLease } from '../settle-coalescer.js';
import { readMigrations } from '../migrations.js';
import { SchemaTooNewError } from '../orm-errors.js';
import { QueryCatalog, type QueryName, substituteIdentifiers } from '../queries.js';
import type { TableNames } from '../table-names.js';
import { type Wakeup, WakeupHub } from '../wakeups.js';
import { SqliteChangeWatcher } from './sqlite-change-watcher.js';

/**
 * Hubs by database file, so a producer and a consumer in one process wake each other even when they
 * opened the file through different handles.
 */
const hubsByFile = new Map<string, SharedFile>();

interface SharedFile {
  hub: WakeupHub;
  watcher: SqliteChangeWatcher;
  users: number;
}

interface PreparedQuery {
  statement: StatementSync;
  parameters: readonly string[];
  returnsRows: boolean;
}

export interface SqliteDialectOptions {
  database: DatabaseSync;
  /** Close the database on release (opened from a path, not handed in). */
  ownsDatabase: boolean;
  names: TableNames;
  /** Where the file is, for messages. */
  address: string;
  pollMs: number;
  busyTimeoutMs: number;
  clock: Clock;
  onRelease: () => void;
}

export class SqliteDialect implements SqlDialect {
  readonly kind = 'sqlite' as const;
  readonly names: TableNames;
  readonly address: string;
  readonly pollMs: number;
  private readonly database: DatabaseSync;
  private readonly catalog: QueryCatalog;
  private readonly prepared = new Map<QueryName, PreparedQuery>();
  private readonly hub: WakeupHub;
  private readonly hubKey: string | undefined;
  /** Cross-process change detection; absent for an in-memory database (no other process can see it). */
  private readonly watcher: SqliteChangeWatcher | undefined;
  references = 1;

  constructor(private readonly options: SqliteDialectOptions) {
    this.database = options.database;
    this.names = options.names;
    this.address = options.address;
    this.pollMs = options.pollMs;
    this.catalog = new QueryCatalog('sqlite', options.names);
    const location = this.database.location();
    if (location) {
      this.hubKey = `${location}\u0000${options.names.prefix}`;
      let shared = hubsByFile.get(this.hubKey);
      if (!shared) {
        const hub = new WakeupHub(options.clock);
        shared = { hub, watcher: new SqliteChangeWatcher(hub), users: 0 };
        hubsByFile.set(this.hubKey, shared);
      }
      shared.users += 1;
      this.hub = shared.hub;
      this.watcher = shared.watcher;
    } else {
      this.hub = new WakeupHub(options.clock);
    }
    this.database.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    if (location) {
      this.database.exec('PRAGMA journal_mode = WAL');
      // In WAL mode NORMAL loses no committed transaction on a process crash, only on power loss or an OS
      // crash, and saves one fsync per commit.
      this.database.exec('PRAGMA synchronous = NORMAL');
    }
  }

  private prepare(query: QueryName): PreparedQuery {
    let prepared = this.prepared.get(query);
    if (!prepared) {
      const loaded = this.catalog.get(query);
      const statement = this.database.prepare(loaded.text);
      prepared = { statement, parameters: loaded.parameters, returnsRows: statement.columns().length > 0 };
      this.prepared.set(query, prepared);
    }
    return prepared;
  }

  private bind(
    prepared: PreparedQuery,
    parameters: Parameters,
  ): Record<string, null | number | bigint | string | Uint8Array> {
    const bound: Record<string, null | number | bigint | string | Uint8Array> = {};
    for (const name of prepared.parameters) {
      const value = parameters[name];
      bound[name] = value === undefined ? null : typeof value === 'boolean' ? (value ? 1 : 0) : value;
    }
    return bound;
  }

  private run(query: QueryName, parameters: Parameters): QueryOutcome {
    const prepared = this.prepare(query);
    const bound = this.bind(prepared, parameters);
    if (prepared.returnsRows) {
      const rows = prepared.statement.all(bound) as Row[];
      return { rows, rowCount: rows.length };
    }
    const { changes } = prepared.statement.run(bound);
    return { rows: [], rowCount: Number(changes) };
  }

  /** Run `work` holding the write lock from the start (see reserve.sql for why not a deferred transaction). */
  private immediate<T>(work: () => T): T {
    this.database.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      this.database.exec('COMMIT');
      return result;
    } catch (error) {
      try {
        this.database.exec('ROLLBACK');
      } catch {
        // The failed statement may already have ended the transaction.
      }
      throw error;
    }
  }

  async execute(query: QueryName, parameters: Parameters): Promise<QueryOutcome> {
    return this.run(query, parameters);
  }

  async insertPackages(input: InsertPackagesInput): Promise<string[]> {
    const ids = this.immediate(() =>
      input.bodies.map((body, index) => {
        const label = input.labels?.[index];
        const { rows } = this.run('enqueue', {
          queue: input.queue,
          body,
          job_id: label?.jobId ?? null,
          task: label?.task ?? null,
          expires_at: label?.expiresAt ?? null,
          priority: input.priority,
          visible_at: input.visibleAt,
          now: input.now,
        });
        return String(rows[0]!.id);
      }),
    );
    this.announce('packages', input.queue);
    return ids;
  }

  async ackPackages(settled: readonly SettledLease[]): Promise<Set<string>> {
    return this.immediate(() => {
      const deleted = new Set<string>();
      for (const lease of settled) {
        if (this.run('ack', { id: lease.id, token: lease.token }).rowCount > 0) deleted.add(leaseKey(lease));
      }
      return deleted;
    });
  }

  async releasePackages(released: readonly ReleasedLease[]): Promise<Set<string>> {
    const done = this.immediate(() => {
      const settled = new Set<string>();
      for (const lease of released) {
        const { rowCount } = this.run('release', {
          id: lease.id,
          token: lease.token,
          visible_at: lease.visibleAt,
        });
        if (rowCount > 0) settled.add(leaseKey(lease));
      }
      return settled;
    });
    for (const queue of new Set(released.map((lease) => lease.queue))) this.announce('packages', queue);
    return done;
  }

  async saveResults(rows: readonly ResultRow[]): Promise<void> {
    // One commit for the batch; each row is its own prepared upsert (microseconds in process).
    this.immediate(() => {
      for (const row of rows) this.run('result-save', { ...row });
    });
    for (const row of rows) this.announce('results', row.id);
  }

  async claimPackages(input: ClaimPackagesInput): Promise<Row[]> {
    return this.immediate(
      () =>
        this.run('reserve', {
          queue: input.queue,
          now: input.now,
          max: input.max,
          lease_ms: input.leaseMs,
          token: input.token,
        }).rows,
    );
  }

  async subscribe(topic: WakeTopic, key: string): Promise<Wakeup> {
    const wakeup = this.hub.subscribe(topic, key);
    this.watcher?.ensure(this.database);
    return wakeup;
  }

  announce(topic: WakeTopic, key: string): void {
    this.hub.signal(topic, key);
  }

  channel(): string {
    return '';
  }

  /** Apply missing migrations inside one immediate transaction: a second process waits for the first. */
  migrate(): void {
    const migrations = readMigrations('sqlite');
    this.immediate(() => {
      this.database.exec(
        substituteIdentifiers(
          'CREATE TABLE IF NOT EXISTS {{migrations}} (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
          this.names,
        ),
      );
      const row = this.database
        .prepare(
          substituteIdentifiers(
            'SELECT coalesce(max(version), 0) AS version FROM {{migrations}}',
            this.names,
          ),
        )
        .get() as { version: number };
      const current = Number(row.version);
      if (current > migrations.length) {
        throw new SchemaTooNewError(this.names.describe(), current, migrations.length);
      }
      const record = this.database.prepare(
        substituteIdentifiers(
          'INSERT INTO {{migrations}} (version, name, applied_at) VALUES (?, ?, ?)',
          this.names,
        ),
      );
      for (const migration of migrations.slice(current)) {
        this.database.exec(substituteIdentifiers(migration.source, this.names));
        record.run(migration.version, migration.name, Date.now());
      }
    });
  }

  async release(): Promise<void> {
    this.references -= 1;
    if (this.references > 0) return;
    this.options.onRelease();
    this.hub.signalAll();
    this.watcher?.stop(this.database);
    if (this.hubKey) {
      const shared = hubsByFile.get(this.hubKey);
      if (shared && --shared.users === 0) hubsByFile.delete(this.hubKey);
    }
    if (this.options.ownsDatabase) this.database.close();
  }
}
