import {
  MemoryBroker,
  MemoryPubSub,
  MemoryPubSubHub,
  MemoryBrokerStore,
  MemoryResultBackend,
  MemoryResultStore,
  MemoryScheduleState,
  MemoryScheduleStore,
} from '@tasq/core';
import { brokerConformance } from './broker-conformance.js';
import { pubSubConformance } from './pubsub-conformance.js';
import { resultBackendConformance } from './result-backend-conformance.js';
import { scheduleStoreConformance } from './schedule-store-conformance.js';

// One shared store per suite run: every broker the suite opens sees the same queues, as connections
// to one server would.
const brokerStore = new MemoryBrokerStore();
brokerConformance('memory', () => new MemoryBroker({ store: brokerStore, maxPackageBytes: 256 * 1024 }));

const resultStores = new Map<string, MemoryResultStore>();
resultBackendConformance('memory', (namespace, settings) => {
  const store = resultStores.get(namespace) ?? new MemoryResultStore();
  resultStores.set(namespace, store);
  return new MemoryResultBackend({ store, cached: settings.resultTtlSeconds });
});

const scheduleStates = new Map<string, MemoryScheduleState>();
scheduleStoreConformance('memory', (namespace) => {
  const state = scheduleStates.get(namespace) ?? new MemoryScheduleState();
  scheduleStates.set(namespace, state);
  return new MemoryScheduleStore({ state });
});

const hub = new MemoryPubSubHub();
pubSubConformance('memory', () => new MemoryPubSub({ hub }));
