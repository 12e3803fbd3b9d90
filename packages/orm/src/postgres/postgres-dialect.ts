/**
 * PostgreSQL through `pg`: a pool for statements (named prepared statements, parsed once per
 * connection), one held connection for LISTEN, migrations under a transaction-scoped advisory lock.
 */
import { createHash } from 'node:crypto';
import type { Clock, Logger } from '@tasq/core/backend';
import type pg from 'pg';
import type {
  ClaimPackagesInput,
  InsertPackagesInput,
  Parameters,
  ParameterValue,
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
import { encodeWakeKeys } from './notification-payload.js';
import { PostgresListener } from './postgres-listener.js';

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const NEEDS_ESCAPE = /[\\"]/;
const ESCAPED = /[\\"]/g;

/**
 * The array literal of a list of strings, finite numbers and nulls, or undefined for anything else (pg
 * converts those). pg's own conversion runs two regular expressions over every element; a batch of
 * saved results sends fourteen arrays of up to hundreds of elements, JSON texts among them.
 */
function arrayLiteral(items: readonly unknown[]): string | undefined {
  let literal = '{';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) literal += ',';
    const item = items[i];
    if (item === null || item === undefined) literal += 'NULL';
    else if (typeof item === 'number' && Number.isFinite(item)) literal += String(item);
    else if (typeof item === 'string')
      literal += NEEDS_ESCAPE.test(item) ? `"${item.replace(ESCAPED, '\\$&')}"` : `"${item}"`;
    else return undefined;
  }
  return `${literal}}`;
}

function toPostgresValue(value: ParameterValue | readonly Uint8Array[]): unknown {
  if (value === undefined) return null;
  if (value instanceof Uint8Array) return toBuffer(value);
  if (Array.isArray(value)) {
    return arrayLiteral(value) ?? value.map((item) => (item instanceof Uint8Array ? toBuffer(item) : item));
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/**
 * Statements sent unnamed, so PostgreSQL plans each run with its values instead of settling on a generic
 * plan. `size` counts `WHERE queue = $1`: a generic plan prices that as an average queue's share of the
 * table, and where one queue holds most of the table it scans the table for every queue's count; planned
 * with the queue's name, a small queue's count reads its own index entries (orm-size.plans.test.ts).
 * The cost is a plan per run, paid by reads of a queue's size, never by the job path.
 */
const plannedPerRun: ReadonlySet<QueryName> = new Set<QueryName>(['size']);

export interface PostgresDialectOptions {
  pool: pg.Pool;
  /** End the pool on release (the pool was created from a URL, not handed in). */
  ownsPool: boolean;
  names: TableNames;
  /** Where the server is, for messages (no password). */
  address: string;
  pollMs: number;
  clock: Clock;
  logger: Logger;
  onRelease: () => void;
}

export class PostgresDialect implements SqlDialect {
  readonly kind = 'postgres' as const;
  readonly names: TableNames;
  readonly address: string;
  readonly pollMs: number;
  private readonly pool: pg.Pool;
  private readonly catalog: QueryCatalog;
  private readonly hub: WakeupHub;
  private readonly listener: PostgresListener;
  private readonly statementNames = new Map<QueryName, string>();
  references = 1;

  constructor(private readonly options: PostgresDialectOptions) {
    this.pool = options.pool;
    this.names = options.names;
    this.address = options.address;
    this.pollMs = options.pollMs;
    this.catalog = new QueryCatalog('postgres', options.names);
    this.hub = new WakeupHub(options.clock);
    this.listener = new PostgresListener(options.pool, this.hub, options.logger);
  }

  async execute(query: QueryName, parameters: Parameters | Record<string, unknown>): Promise<QueryOutcome> {
    const loaded = this.catalog.get(query);
    let name = this.statementNames.get(query);
    if (!name && !plannedPerRun.has(query)) {
      // Prepared statement names are per connection; a hash of the text keeps two schemas sharing one
      // handed-in pool from colliding.
      name = `tasq_${query}_${createHash('sha1').update(loaded.text).digest('hex').slice(0, 10)}`;
      this.statementNames.set(query, name);
    }
    const values = loaded.parameters.map((parameter) =>
      toPostgresValue(parameters[parameter] as ParameterValue | readonly Uint8Array[]),
    );
    const result = await this.pool.query(
      name ? { name, text: loaded.text, values } : { text: loaded.text, values },
    );
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
  }

  async insertPackages(input: InsertPackagesInput): Promise<string[]> {
    const { rows } = await this.execute('enqueue', {
      queue: input.queue,
      bodies: input.bodies as never,
      job_ids: input.bodies.map((_body, index) => input.labels?.[index]?.jobId ?? null) as never,
      tasks: input.bodies.map((_body, index) => input.labels?.[index]?.task ?? null) as never,
      expires_ats: input.bodies.map((_body, index) => input.labels?.[index]?.expiresAt ?? null) as never,
      priority: input.priority,
      visible_at: input.visibleAt,
      now: input.now,
      channel: this.channel('packages'),
    });
    // Ids are drawn in row order inside the statement; RETURNING order is not promised, so sort.
    return rows
      .map((row) => BigInt(row.id as string))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map(String);
  }

  async ackPackages(settled: readonly SettledLease[]): Promise<Set<string>> {
    const { rows } = await this.execute('ack-many', {
      ids: settled.map((lease) => lease.id) as never,
      tokens: settled.map((lease) => lease.token) as never,
    });
    return new Set(rows.map((row) => leaseKey({ id: String(row.id), token: String(row.lease_token) })));
  }

  async releasePackages(released: readonly ReleasedLease[]): Promise<Set<string>> {
    const { rows } = await this.execute('release-many', {
      ids: released.map((lease) => lease.id) as never,
      tokens: released.map((lease) => lease.token) as never,
      visible_ats: released.map((lease) => lease.visibleAt) as never,
      channel: this.channel('packages'),
    });
    for (const queue of new Set(released.map((lease) => lease.queue))) this.announce('packages', queue);
    return new Set(rows.map((row) => leaseKey({ id: String(row.id), token: String(row.lease_token) })));
  }

  async saveResults(rows: readonly ResultRow[]): Promise<void> {
    const column = <K extends keyof ResultRow>(key: K) => rows.map((row) => row[key]) as never;
    await this.execute('result-save', {
      ids: column('id'),
      names: column('name'),
      queues: column('queue'),
      statuses: column('status'),
      results: column('result'),
      errors: column('error'),
      args: column('args'),
      group_names: column('group_name'),
      group_indexes: column('group_index'),
      attempts: column('attempts'),
      keep_until_claimed_keys: column('keep_until_claimed'),
      enqueued_ats: column('enqueued_at'),
      started_ats: column('started_at'),
      stopped_ats: column('stopped_at'),
      channel: this.channel('results'),
      payloads: encodeWakeKeys(rows.map((row) => row.id)) as never,
    });
  }

  async claimPackages(input: ClaimPackagesInput): Promise<Row[]> {
    const { rows } = await this.execute('reserve', {
      queue: input.queue,
      now: input.now,
      max: input.max,
      lease_ms: input.leaseMs,
      token: input.token,
    });
    return rows;
  }

  async subscribe(topic: WakeTopic, key: string): Promise<Wakeup> {
    const channel = this.channel(topic);
    const wakeup = this.hub.subscribe(channel, key);
    try {
      await this.listener.listen(channel);
    } catch (error) {
      // Waiters fall back to their poll timer; the reserve/get that follows reports the connection error.
      this.options.logger.debug({ err: (error as Error).message }, 'tasq orm: LISTEN unavailable');
    }
    return wakeup;
  }

  /** Pub/sub: `handler` gets every payload notified on `channel`; see PostgresListener.subscribe. */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    return this.listener.subscribe(channel, handler);
  }

  announce(topic: WakeTopic, key: string): void {
    this.hub.signal(this.channel(topic), key);
  }

  channel(topic: WakeTopic): string {
    return this.names.channel(topic);
  }

  /**
   * Apply missing migrations. The advisory lock is transaction-scoped, so a crash releases it; the lock key
   * is derived from the schema and prefix, so two tasq schemas in one database migrate independently.
   */
  async migrate(): Promise<void> {
    const migrations = readMigrations('postgres');
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `tasq.migrate:${this.names.channel('packages')}`,
      ]);
      await client.query(substituteIdentifiers('CREATE SCHEMA IF NOT EXISTS {{schema}}', this.names));
      await client.query(
        substituteIdentifiers(
          'CREATE TABLE IF NOT EXISTS {{migrations}} (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
          this.names,
        ),
      );
      const { rows } = await client.query(
        substituteIdentifiers('SELECT coalesce(max(version), 0) AS version FROM {{migrations}}', this.names),
      );
      const current = Number(rows[0]?.version ?? 0);
      if (current > migrations.length) {
        throw new SchemaTooNewError(this.names.describe(), current, migrations.length);
      }
      for (const migration of migrations.slice(current)) {
        await client.query(substituteIdentifiers(migration.source, this.names));
        await client.query(
          substituteIdentifiers('INSERT INTO {{migrations}} (version, name) VALUES ($1, $2)', this.names),
          [migration.version, migration.name],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async release(): Promise<void> {
    this.references -= 1;
    if (this.references > 0) return;
    this.options.onRelease();
    await this.listener.close();
    this.hub.signalAll();
    if (this.options.ownsPool) await this.pool.end();
  }
}
