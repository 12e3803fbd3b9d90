import {
  MemoryBroker,
  MemoryPubSub,
  MemoryPubSubHub,
  MemoryBrokerStore,
  MemoryResultBackend,
  MemoryResultStore,
  MemoryScheduleState,
  MemoryScheduleStore,
} from '@tasq/core/backend';
import { brokerConformance } from './broker-conformance.js';
import { pubSubConformance } from './pubsub-conformance.js';
import { resultBackendConformance } from './result-backend-conformance.js';
import { scheduleStoreConformance } from './schedule-store-conformance.js';

/** One state per key, made on first use: what one server holds for one deployment (and namespace). */
function statesBy<State>(make: () => State): (key: string) => State {
  const states = new Map<string, State>();
  return (key) => {
    let state = states.get(key);
    if (!state) {
      state = make();
      states.set(key, state);
    }
    return state;
  };
}

// One shared store per deployment and suite run: every broker the suite opens for a deployment sees the
// same queues, as connections to one server would; the memory plugin keeps one per deployment likewise.
const brokerStore = statesBy(() => new MemoryBrokerStore());
brokerConformance(
  'memory',
  ({ deployment }) => new MemoryBroker({ store: brokerStore(deployment), maxPackageBytes: 256 * 1024 }),
);

const resultStore = statesBy(() => new MemoryResultStore());
resultBackendConformance(
  'memory',
  (namespace, settings) =>
    new MemoryResultBackend({
      store: resultStore(`${settings.deployment}/${namespace}`),
      cached: settings.resultTtlSeconds,
    }),
);

const scheduleState = statesBy(() => new MemoryScheduleState());
scheduleStoreConformance(
  'memory',
  (namespace, { deployment }) =>
    new MemoryScheduleStore({ state: scheduleState(`${deployment}/${namespace}`) }),
);

const hub = new MemoryPubSubHub();
pubSubConformance('memory', () => new MemoryPubSub({ hub }));
