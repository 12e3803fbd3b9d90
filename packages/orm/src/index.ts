/**
 * @tasq/orm: the application's own database as tasq's broker, result backend, schedule store and pub/sub.
 * SQLite through `node:sqlite` (the embedded default, `./.tasq/tasq.db`) and PostgreSQL through `pg`.
 */
import {
  CapabilityError,
  checkCachedSeconds,
  type Clock,
  defineBrokerPlugin,
  type Logger,
  type PubSub,
  silentLogger,
  systemClock,
} from '@tasq/core/backend';
import { openDialect } from './connections.js';
import { PostgresDialect } from './postgres/postgres-dialect.js';
import { PostgresPubSub } from './postgres/postgres-pubsub.js';
import { SqliteDialect } from './sqlite/sqlite-dialect.js';
import { SqlitePubSub } from './sqlite/sqlite-pubsub.js';
import { OrmBroker } from './orm-broker.js';
import type { OrmOptions } from './orm-options.js';
import { OrmResultBackend } from './orm-result-backend.js';
import { OrmScheduleStore } from './orm-schedule-store.js';

export { OrmBroker } from './orm-broker.js';
export { SchemaTooNewError } from './orm-errors.js';
export { defaultSqliteFile, type OrmOptions } from './orm-options.js';
export { OrmResultBackend } from './orm-result-backend.js';
export { PostgresPubSub } from './postgres/postgres-pubsub.js';
export { SqlitePubSub } from './sqlite/sqlite-pubsub.js';
export { OrmScheduleStore } from './orm-schedule-store.js';

/**
 * What the factories take besides the options, all optional: the deployment name (the configuration's
 * `name`; a deployment other than "default" gets tables of its own, `<prefix><name>_packages`...), clock
 * and logger, and the results' time to live (the configuration's `cached`). The plugin passes its context.
 */
export interface OrmContext {
  deployment?: string;
  clock?: Clock;
  logger?: Logger;
  resultTtlSeconds?: number;
}

function openContext(context: OrmContext | undefined) {
  return {
    clock: context?.clock ?? systemClock,
    logger: context?.logger ?? silentLogger,
    deployment: context?.deployment,
  };
}

/** Open the database named by `options` (migrating it on first use) and return a broker over it. */
export async function createOrmBroker(options?: OrmOptions, context?: OrmContext): Promise<OrmBroker> {
  const resolved = openContext(context);
  return new OrmBroker(await openDialect(options, resolved), { clock: resolved.clock });
}

/** Open the database named by `options` and return a result backend over it. */
export async function createOrmResultBackend(
  options?: OrmOptions,
  context?: OrmContext,
): Promise<OrmResultBackend> {
  const resolved = openContext(context);
  // Checked before the database is opened, so a bad value fails without a connection to close.
  const backendOptions = { clock: resolved.clock, cached: context?.resultTtlSeconds };
  checkCachedSeconds('orm', backendOptions.cached);
  return new OrmResultBackend(await openDialect(options, resolved), backendOptions);
}

/** Open the database named by `options` and return a schedule store over it. */
export async function createOrmScheduleStore(
  options?: OrmOptions,
  context?: OrmContext,
): Promise<OrmScheduleStore> {
  const resolved = openContext(context);
  return new OrmScheduleStore(await openDialect(options, resolved), { clock: resolved.clock });
}

/**
 * Pub/sub for monitoring events and remote control: NOTIFY on PostgreSQL; on SQLite, a table read after
 * each noticed commit (within ~20 ms across processes, at once within one).
 */
export async function createOrmPubSub(options?: OrmOptions, context?: OrmContext): Promise<PubSub> {
  const resolved = openContext(context);
  const dialect = await openDialect(options, resolved);
  if (dialect instanceof PostgresDialect) return new PostgresPubSub(dialect);
  if (dialect instanceof SqliteDialect) return new SqlitePubSub(dialect, resolved.clock);
  await dialect.release();
  throw new CapabilityError(`no pub/sub for the ${dialect.kind} dialect`);
}

/**
 * Apply the package's migrations to the database named by `options` and return. Every factory does this
 * on first use; this is for a deployment step (`tasq migrate`). Raises `SchemaTooNewError` when the
 * database was migrated by a newer @tasq/orm.
 */
export async function migrate(options?: OrmOptions, context?: OrmContext): Promise<void> {
  const dialect = await openDialect(options, openContext(context));
  await dialect.release();
}

/** The plugin the cluster loads with `broker: "@tasq/orm"`. */
export default defineBrokerPlugin<OrmOptions | undefined>({
  name: 'orm',
  createBroker: (options, context) => createOrmBroker(options, context),
  createResultBackend: (options, context) => createOrmResultBackend(options, context),
  createScheduleStore: (options, context) => createOrmScheduleStore(options, context),
  createPubSub: (options, context) => createOrmPubSub(options, context),
});
