/**
 * The options every factory of this package takes, and how they resolve to one dialect and one place.
 */
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type pg from 'pg';
import { invalidArgument } from './orm-errors.js';

export interface OrmOptions {
  /**
   * Where the database is: `postgres://user:pass@host:5432/db` (or `postgresql://`), `sqlite:./path.db`,
   * `sqlite:///absolute/path.db`, `sqlite::memory:`, or a bare file path (SQLite). Default, when neither
   * `url`, `pool` nor `database` is given: SQLite at `./.tasq/tasq.db` (the folder is created).
   */
  url?: string;
  /** Use the application's existing `pg.Pool` (it is not ended on close). */
  pool?: pg.Pool;
  /** Use the application's existing `node:sqlite` `DatabaseSync` (it is not closed on close). */
  database?: DatabaseSync;
  /** PostgreSQL schema holding tasq's tables; default `tasq`. On SQLite it becomes part of the table prefix (`<schema>_`). */
  schema?: string;
  /** Prefix of every table name; default `''` on PostgreSQL (the schema separates), `tasq_` on SQLite. */
  tablePrefix?: string;
  /**
   * Milliseconds an idle `reserve` or result `wait` sleeps before looking again without a wake-up: the
   * fallback behind LISTEN/NOTIFY (PostgreSQL, default 2000) and behind the 20 ms change check of the
   * SQLite file (default 200). Delayed packages and expiring leases are woken for at their due time on
   * both, not at the next poll.
   */
  poll?: number;
  /** Connections in the pool this package creates from a PostgreSQL `url`; default 10. */
  poolSize?: number;
  /** SQLite: how long a write waits for another process's write lock, in ms; default 5000. */
  busyTimeout?: number;
}

const knownOptionKeys = new Set([
  'url',
  'pool',
  'database',
  'schema',
  'tablePrefix',
  'poll',
  'poolSize',
  'busyTimeout',
]);

export type ResolvedLocation =
  | { dialect: 'postgres'; connectionString: string; pool?: undefined }
  | { dialect: 'postgres'; pool: pg.Pool; connectionString?: undefined }
  | { dialect: 'sqlite'; file: string; database?: undefined }
  | { dialect: 'sqlite'; database: DatabaseSync; file?: undefined };

export interface ResolvedOptions {
  location: ResolvedLocation;
  schema: string | undefined;
  prefix: string;
  pollMs: number;
  poolSize: number;
  busyTimeoutMs: number;
}

/** Where the embedded default lives, relative to the working directory. */
export const defaultSqliteFile = path.join('.tasq', 'tasq.db');

function positiveNumber(options: OrmOptions, key: 'poll' | 'poolSize' | 'busyTimeout'): number | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(
      `orm option "${key}" must be a positive number of ${key === 'poolSize' ? 'connections' : 'milliseconds'}, got ${String(value)}`,
    );
  }
  return value;
}

function sqliteFileFromUrl(url: string): string {
  const rest = url.slice('sqlite:'.length);
  if (rest === ':memory:' || rest === '//:memory:') return ':memory:';
  // sqlite:///abs/path → /abs/path; sqlite://./rel → ./rel; sqlite:./rel → ./rel
  const file = rest.startsWith('//') ? rest.slice(2) : rest;
  if (file === '')
    throw invalidArgument(`orm option "url" "${url}" names no SQLite file (example: sqlite:./tasq.db)`);
  return file;
}

function resolveLocation(options: OrmOptions): ResolvedLocation {
  const given = [options.url, options.pool, options.database].filter((value) => value !== undefined).length;
  if (given > 1)
    throw invalidArgument('orm options "url", "pool" and "database" exclude each other: give one');
  if (options.pool !== undefined) {
    if (
      typeof (options.pool as pg.Pool).query !== 'function' ||
      typeof (options.pool as pg.Pool).connect !== 'function'
    ) {
      throw invalidArgument('orm option "pool" must be a pg.Pool');
    }
    return { dialect: 'postgres', pool: options.pool };
  }
  if (options.database !== undefined) {
    if (typeof (options.database as DatabaseSync).prepare !== 'function') {
      throw invalidArgument('orm option "database" must be a node:sqlite DatabaseSync');
    }
    return { dialect: 'sqlite', database: options.database };
  }
  const url = options.url;
  if (url === undefined) return { dialect: 'sqlite', file: defaultSqliteFile };
  if (typeof url !== 'string' || url.trim() === '')
    throw invalidArgument('orm option "url" must be a non-empty string');
  if (/^postgres(ql)?:\/\//i.test(url)) return { dialect: 'postgres', connectionString: url };
  if (/^sqlite:/i.test(url)) return { dialect: 'sqlite', file: sqliteFileFromUrl(url) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw invalidArgument(
      `orm option "url" "${url.replace(/\/\/[^@/]*@/, '//***@')}" has an unsupported scheme: use postgres://, postgresql:// or sqlite:`,
    );
  }
  return { dialect: 'sqlite', file: url };
}

/** Validate and fill in defaults; every problem names its option. */
export function resolveOptions(options: OrmOptions | undefined): ResolvedOptions {
  const given = options ?? {};
  if (typeof given !== 'object') throw invalidArgument('orm options must be an object');
  for (const key of Object.keys(given)) {
    if (!knownOptionKeys.has(key)) {
      throw invalidArgument(`unknown orm option "${key}" (known: ${[...knownOptionKeys].join(', ')})`);
    }
  }
  const location = resolveLocation(given);
  if (given.schema !== undefined && typeof given.schema !== 'string')
    throw invalidArgument('orm option "schema" must be a string');
  if (given.tablePrefix !== undefined && typeof given.tablePrefix !== 'string') {
    throw invalidArgument('orm option "tablePrefix" must be a string');
  }
  const postgres = location.dialect === 'postgres';
  const schema = postgres ? (given.schema ?? 'tasq') : undefined;
  const prefix = postgres
    ? (given.tablePrefix ?? '')
    : given.schema !== undefined
      ? `${given.schema}_${given.tablePrefix ?? ''}`
      : (given.tablePrefix ?? 'tasq_');
  return {
    location,
    schema,
    prefix,
    pollMs: positiveNumber(given, 'poll') ?? (postgres ? 2_000 : 200),
    poolSize: Math.trunc(positiveNumber(given, 'poolSize') ?? 10),
    busyTimeoutMs: positiveNumber(given, 'busyTimeout') ?? 5_000,
  };
}
