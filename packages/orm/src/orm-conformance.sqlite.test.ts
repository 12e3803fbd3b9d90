import { brokerConformance, resultBackendConformance, scheduleStoreConformance } from '@tasq/testing';
import { afterAll } from 'vitest';
import { createOrmBroker, createOrmResultBackend, createOrmScheduleStore } from './index.js';
import { prefixFor, temporaryFolder } from './test-support/databases.js';

const folder = temporaryFolder('conformance');
const url = `sqlite:${folder.file('tasq.db')}`;

afterAll(() => folder.remove());

brokerConformance('orm (SQLite file)', (settings) => createOrmBroker({ url }, settings));

resultBackendConformance('orm (SQLite file)', (namespace, settings) =>
  createOrmResultBackend({ url, tablePrefix: prefixFor(namespace) }, settings),
);

scheduleStoreConformance('orm (SQLite file)', (namespace, settings) =>
  createOrmScheduleStore({ url, tablePrefix: prefixFor(namespace) }, settings),
);
