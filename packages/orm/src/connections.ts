/**
 * Opens the database a set of options names, runs migrations once, and shares the handle: a broker,
 * result backend and schedule store built from the same options in one process use one pool (or one
 * SQLite handle) and one LISTEN connection. Each user releases its reference on close.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { type Clock, type Logger, withoutPassword } from '@tasq/core/backend';
import pg from 'pg';
import type { SqlDialect } from './dialect.js';
import { mapDatabaseError, sqliteOpenError } from './orm-errors.js';
import { defaultSqliteFile, type OrmOptions, resolveOptions } from './orm-options.js';
import { PostgresDialect } from './postgres/postgres-dialect.js';
import { SqliteDialect } from './sqlite/sqlite-dialect.js';
import { loadNodeSqlite } from './sqlite/node-sqlite.js';
import { TableNames } from './table-names.js';

type SharedDialect = PostgresDialect | SqliteDialect;

/** Open databases by what identifies them; `waiting` counts users that asked while it was still opening. */
const openByKey = new Map<
  string,
  { opening: Promise<SharedDialect>; dialect?: SharedDialect; waiting: number }
>();
const handedInIds = new WeakMap<object, number>();
let nextHandedInId = 1;

function identityOf(handle: object): number {
  let id = handedInIds.get(handle);
  if (id === undefined) {
    id = nextHandedInId++;
    handedInIds.set(handle, id);
  }
  return id;
}

export interface OpenContext {
  clock: Clock;
  logger: Logger;
  /** The deployment (configuration `name`) whose tables to use; the default deployment's when absent. */
  deployment?: string | undefined;
}

/** Where a PostgreSQL server is, from a connection string or a pool's options: host, port and database, never the password. */
function postgresAddress(location: { connectionString?: string; pool?: pg.Pool }): string {
  if (location.connectionString !== undefined) {
    try {
      const url = new URL(location.connectionString);
      const host = url.hostname || url.searchParams.get('host') || 'localhost';
      return `PostgreSQL at ${host}:${url.port || '5432'}${url.pathname}`;
    } catch {
      return `PostgreSQL at ${withoutPassword(location.connectionString)}`;
    }
  }
  const options = (location.pool as { options?: { host?: string; port?: number; database?: string } })
    ?.options;
  const host = options?.host ?? process.env.PGHOST ?? 'localhost';
  const port = options?.port ?? process.env.PGPORT ?? 5432;
  const database = options?.database ?? process.env.PGDATABASE ?? '';
  return `PostgreSQL at ${host}:${port}/${database} (the application's pool)`;
}

/** Open (or share) the database for `options`, migrated and ready. */
export async function openDialect(
  options: OrmOptions | undefined,
  context: OpenContext,
): Promise<SqlDialect> {
  const resolved = resolveOptions(options);
  const names = new TableNames({
    schema: resolved.schema,
    prefix: resolved.prefix,
    deployment: context.deployment,
  });
  const { location } = resolved;
  const where =
    location.dialect === 'postgres'
      ? location.pool
        ? `pool#${identityOf(location.pool)}`
        : location.connectionString
      : location.database
        ? `database#${identityOf(location.database)}`
        : location.file === ':memory:'
          ? `memory#${nextHandedInId++}`
          : path.resolve(location.file);
  const key = [
    location.dialect,
    where,
    resolved.schema ?? '',
    names.prefix,
    resolved.pollMs,
    resolved.poolSize,
    resolved.busyTimeoutMs,
  ].join('\u0000');

  // References are counted synchronously, so a close racing with this open can never end a handle that
  // is being handed out.
  const existing = openByKey.get(key);
  if (existing?.dialect) {
    existing.dialect.references += 1;
    return existing.dialect;
  }
  if (existing) {
    existing.waiting += 1;
    return existing.opening;
  }

  const opening = (async (): Promise<SharedDialect> => {
    const onRelease = () => openByKey.delete(key);
    if (location.dialect === 'postgres') {
      const ownsPool = location.pool === undefined;
      const pool =
        location.pool ??
        new pg.Pool({
          connectionString: location.connectionString,
          max: resolved.poolSize,
          connectionTimeoutMillis: 10_000,
          application_name: 'tasq',
        });
      // An idle pooled connection that dies (server restart) emits 'error' on the pool; unhandled, that
      // would end the process. The next query simply gets a fresh connection.
      if (pool.listenerCount('error') === 0) {
        pool.on('error', (error) =>
          context.logger.warn({ err: error.message }, 'tasq orm: idle connection lost'),
        );
      }
      const address = postgresAddress(location);
      const dialect = new PostgresDialect({
        pool,
        ownsPool,
        names,
        address,
        pollMs: resolved.pollMs,
        clock: context.clock,
        logger: context.logger,
        onRelease,
      });
      try {
        await dialect.migrate();
        return dialect;
      } catch (error) {
        onRelease();
        await dialect.release().catch(() => undefined);
        throw mapDatabaseError(error, `opening ${names.describe()}`, address);
      }
    }
    const ownsDatabase = location.database === undefined;
    let database: DatabaseSync | undefined = location.database;
    const file = location.file ?? defaultSqliteFile;
    const address = location.database
      ? "the application's SQLite database"
      : file === ':memory:'
        ? 'SQLite in memory'
        : `SQLite file ${path.resolve(file)}`;
    if (!database) {
      let OpenDatabase: typeof DatabaseSync;
      try {
        // Loaded on first use, so PostgreSQL users never load node:sqlite (nor see its warning), and
        // before the folder is made: a Node.js without node:sqlite leaves nothing behind.
        ({ DatabaseSync: OpenDatabase } = await loadNodeSqlite());
      } catch (error) {
        onRelease();
        throw error;
      }
      try {
        if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
        database = new OpenDatabase(file, { timeout: resolved.busyTimeoutMs });
      } catch (error) {
        onRelease();
        throw sqliteOpenError(error, address);
      }
    }
    try {
      const dialect = new SqliteDialect({
        database,
        ownsDatabase,
        names,
        address,
        pollMs: resolved.pollMs,
        busyTimeoutMs: resolved.busyTimeoutMs,
        clock: context.clock,
        onRelease,
      });
      dialect.migrate();
      return dialect;
    } catch (error) {
      onRelease();
      if (ownsDatabase) database.close();
      throw mapDatabaseError(error, `opening ${names.describe()}`, address);
    }
  })();
  const entry: { opening: Promise<SharedDialect>; dialect?: SharedDialect; waiting: number } = {
    opening,
    waiting: 0,
  };
  openByKey.set(key, entry);
  opening.then(
    (dialect) => {
      entry.dialect = dialect;
      dialect.references += entry.waiting;
    },
    () => undefined,
  );
  return opening;
}
