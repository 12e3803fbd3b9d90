/**
 * The shared conformance suites, unchanged, against the MongoDB server named by MONGODB_URL (skipped with
 * NO_SERVER_REASON when it is not set: see test-support/mongo-server.ts).
 */
import { brokerConformance, resultBackendConformance, scheduleStoreConformance } from '@tasq/testing';
import { afterAll } from 'vitest';
import { MongoBroker } from './mongo-broker.js';
import { MongoResultBackend } from './mongo-result-backend.js';
import { MongoScheduleStore } from './mongo-schedule-store.js';
import {
  dropDatabase,
  serverSkipReason,
  serverUrl as url,
  uniqueDatabaseName,
} from './test-support/mongo-server.js';

const skipReason = await serverSkipReason();
const database = uniqueDatabaseName();

brokerConformance(
  'mongo',
  ({ deployment }) => MongoBroker.open({ url, database, collectionPrefix: 'broker_' }, { deployment }),
  { skipReason },
);

resultBackendConformance(
  'mongo',
  (namespace, settings) =>
    MongoResultBackend.open(
      {
        url,
        database,
        collectionPrefix: `${namespace}_`,
        cached: settings.resultTtlSeconds,
      },
      { deployment: settings.deployment },
    ),
  { skipReason },
);

scheduleStoreConformance(
  'mongo',
  (namespace, { deployment }) =>
    MongoScheduleStore.open({ url, database, collectionPrefix: `${namespace}_` }, { deployment }),
  { skipReason },
);

afterAll(async () => {
  if (skipReason === undefined) await dropDatabase(database);
});
