export * from './broker.js';
export * from './clock.js';
export * from './errors.js';
export * from './logger.js';
export * from './plugin.js';
export * from './result-backend.js';
export * from './schedule-store.js';
