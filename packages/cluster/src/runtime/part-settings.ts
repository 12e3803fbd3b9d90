/**
 * Which configuration values each runtime part reads. The sentinel builds the parts; writing these
 * translations out here keeps it a list of parts and their wiring, and shows in one place which part
 * depends on which setting.
 */
import type { ResolvedConfig } from '@tasq/core';
import type { WorkerSettings } from '../worker/protocol.js';
import type { FetchSettings } from './fetcher.js';
import type { MonitorOptions } from './monitor.js';

/** How runs are settled: attempts, retries, what is saved. */
export function monitorSettings(config: ResolvedConfig): MonitorOptions['settings'] {
  return {
    maxAttempts: config.maxAttempts,
    ackFailures: config.ackFailures,
    saveLimit: config.saveLimit,
    retryMs: config.retryMs,
    ...(config.saveLimitPer ? { saveLimitPer: config.saveLimitPer } : {}),
  };
}

/** How far ahead, how often and how long the fetcher reserves. */
export function fetchSettings(config: ResolvedConfig, reserveWaitMs: number | undefined): FetchSettings {
  return {
    queues: config.queues,
    bulk: config.bulk,
    queueLimit: config.queueLimit,
    leaseMs: config.retryMs,
    pollMs: config.pollMs,
    guardCycleMs: config.guardCycleMs,
    reserveWaitMs: reserveWaitMs ?? 5_000,
  };
}

/** What each worker process is started with. */
export function workerSettings(config: ResolvedConfig, cwd: string): WorkerSettings {
  return {
    tasks: config.tasks,
    cwd,
    // Memory is sampled only where a limit is set to compare it with.
    sampleMs: config.maxRssBytes !== undefined ? Math.max(100, config.guardCycleMs) : 0,
    exitWithParent: config.daemonizeWorkers,
    concurrency: config.concurrency,
  };
}
