export * from './broker.js';
export * from './broker-client.js';
export * from './clock.js';
export {
  decodeJsonValue,
  decodeStoredValue,
  encodeJsonValue,
  encodeStoredValue,
} from './codec/json-value.js';
export * from './errors.js';
export { uuidv7, uuidv7Time } from './ids.js';
export * from './logger.js';
export { MemoryBroker, type MemoryBrokerOptions, MemoryBrokerStore } from './memory/memory-broker.js';
export { MemoryResultBackend, MemoryResultStore } from './memory/memory-result-backend.js';
export { MemoryScheduleState, MemoryScheduleStore } from './memory/memory-schedule-store.js';
export * from './plugin.js';
export * from './result-backend.js';
export * from './schedule-store.js';
