export { type BrokerSettings, brokerConformance, type ConformanceOptions } from './broker-conformance.js';
export { pubSubConformance } from './pubsub-conformance.js';
export { findOlderNode, type OlderNode } from './older-node.js';
export { freePort, freePorts } from './ports.js';
export { isCi, requireService } from './require-service.js';
export { type ResultBackendSettings, resultBackendConformance } from './result-backend-conformance.js';
export { type ScheduleStoreSettings, scheduleStoreConformance } from './schedule-store-conformance.js';
export { readText, reserveUntil, sleep, text, uniqueName } from './support.js';
export { type DelayingProxy, type DelayingProxyOptions, startDelayingProxy } from './delaying-proxy.js';
