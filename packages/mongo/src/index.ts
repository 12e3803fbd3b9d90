import { defineBrokerPlugin } from '@tasq/core/backend';
import { MongoBroker } from './mongo-broker.js';
import type { MongoOptions } from './mongo-options.js';
import { MongoResultBackend } from './mongo-result-backend.js';
import { MongoScheduleStore } from './mongo-schedule-store.js';

export { MONGO_BROKER_CAPABILITIES, MongoBroker, type MongoRuntime } from './mongo-broker.js';
export type { MongoReceipt } from './mongo-documents.js';
export { databaseFromUrl, type MongoOptions, resolveMongoOptions } from './mongo-options.js';
export { MongoResultBackend } from './mongo-result-backend.js';
export { MongoScheduleStore } from './mongo-schedule-store.js';

/**
 * `brokerClass: "@tasq/mongo"`: the MongoDB broker, with its result backend and schedule store as the
 * defaults for a configuration that names only the broker. Each factory connects and creates its indexes.
 */
export default defineBrokerPlugin<MongoOptions | string>({
  name: 'mongo',
  createBroker: (options, context) => MongoBroker.open(options, context),
  createResultBackend: (options, context) =>
    MongoResultBackend.open(withResultTtl(options, context.resultTtlSeconds), context),
  createScheduleStore: (options, context) => MongoScheduleStore.open(options, context),
});

/** The configuration's `cached` as the result backend's own, unless the plugin options set one. */
function withResultTtl(
  options: MongoOptions | string | undefined,
  resultTtlSeconds: number | undefined,
): MongoOptions | string | undefined {
  if (resultTtlSeconds === undefined) return options;
  const given: MongoOptions = typeof options === 'string' ? { url: options } : (options ?? {});
  return given.cached === undefined ? { ...given, cached: resultTtlSeconds } : given;
}
