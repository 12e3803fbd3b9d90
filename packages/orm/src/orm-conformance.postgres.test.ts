import { brokerConformance, resultBackendConformance, scheduleStoreConformance } from '@tasq/testing';
import { afterAll } from 'vitest';
import { createOrmBroker, createOrmResultBackend, createOrmScheduleStore } from './index.js';
import {
  dropSchema,
  postgresUrl,
  prefixFor,
  requirePostgres,
  uniqueSchema,
} from './test-support/databases.js';

const skipReason = await requirePostgres();
const schema = uniqueSchema('conformance');

afterAll(async () => {
  if (!skipReason) await dropSchema(schema);
});

brokerConformance('orm (PostgreSQL)', (settings) => createOrmBroker({ url: postgresUrl, schema }, settings), {
  skipReason,
});

resultBackendConformance(
  'orm (PostgreSQL)',
  (namespace, settings) =>
    createOrmResultBackend({ url: postgresUrl, schema, tablePrefix: prefixFor(namespace) }, settings),
  { skipReason },
);

scheduleStoreConformance(
  'orm (PostgreSQL)',
  (namespace, settings) =>
    createOrmScheduleStore({ url: postgresUrl, schema, tablePrefix: prefixFor(namespace) }, settings),
  { skipReason },
);
