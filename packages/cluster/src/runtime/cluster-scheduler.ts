/**
 * The scheduler inside a cluster: every cluster runs core's Scheduler loop, and the store's leader lock
 * lets one of them (the leader) turn due slots into jobs. At start the cluster also writes the
 * configuration's `schedules` into the store, by name, under a short lock of their own so clusters that
 * start together write each schedule once.
 */
import { hostname } from 'node:os';
import {
  type Clock,
  ConfigError,
  type ConfiguredSchedule,
  defineSchedule,
  type Logger,
  type ResolvedConfig,
  type ScheduleRecord,
} from '@tasq/core';
import type { ScheduleStore } from '@tasq/core/backend';
import type { Scheduler, RuntimeServices } from '@tasq/core/internal';

export interface ClusterSchedulerOptions {
  /** How long leadership lasts without renewal (a dead leader is replaced after this). Default 10 s. */
  leaseMs?: number;
  /** How often the scheduler looks for due slots. Default 1 s. */
  intervalMs?: number;
}

/** How long the configuration lock is held at most (a cluster that dies holding it frees it after this). */
const CONFIG_LOCK_TTL_MS = 10_000;
/** How long a starting cluster waits for that lock before giving up. */
const CONFIG_LOCK_WAIT_MS = 30_000;

let clustersInThisProcess = 0;

/**
 * This cluster's identity for the leader lock: `name@host:pid`, with `#n` for the n-th cluster started
 * in one process (tests, embedded use), so two clusters never share an owner.
 */
export function clusterIdentity(config: ResolvedConfig): string {
  clustersInThisProcess++;
  const base = `${config.cluster}@${hostname()}:${process.pid}`;
  return clustersInThisProcess === 1 ? base : `${base}#${clustersInThisProcess}`;
}

/**
 * Write the configuration's schedules, then start the scheduler loop. Returns undefined (scheduler off)
 * when the broker package has no schedule store and the configuration names no schedules.
 */
export async function startClusterScheduler(
  services: RuntimeServices,
  owner: string,
  options: ClusterSchedulerOptions & { logger: Logger },
): Promise<Scheduler | undefined> {
  const { config, clock } = services;
  let store: ScheduleStore;
  try {
    store = await services.schedules();
  } catch (error) {
    if (Object.keys(config.schedules).length > 0) {
      throw new ConfigError([`schedules: ${(error as Error).message}; schedules cannot be stored`]);
    }
    options.logger.info({ broker: services.broker.name }, `scheduler off: ${(error as Error).message}`);
    return undefined;
  }
  await writeConfiguredSchedules(store, config, owner, clock, options.logger);
  const scheduler = await services.createScheduler(owner, {
    ...(options.leaseMs !== undefined ? { leaseMs: options.leaseMs } : {}),
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
  });
  scheduler.start();
  return scheduler;
}

/**
 * Create or update each configured schedule by name. A schedule whose definition (task, args, rule,
 * zone, job options) is unchanged is left alone, with its next run, runs left and paused state; a
 * changed one is updated in place (same id) and moves to the first slot of its new rule.
 */
export async function writeConfiguredSchedules(
  store: ScheduleStore,
  config: ResolvedConfig,
  owner: string,
  clock: Clock,
  logger: Logger,
): Promise<{ created: string[]; updated: string[] }> {
  const entries = Object.values(config.schedules);
  const outcome = { created: [] as string[], updated: [] as string[] };
  if (entries.length === 0) return outcome;
  const lock = `${config.name}:schedule-configuration`;
  const deadline = clock.now() + CONFIG_LOCK_WAIT_MS;
  while (!(await store.acquireLeadership(lock, owner, CONFIG_LOCK_TTL_MS))) {
    if (clock.now() > deadline) {
      throw new Error(
        `schedules: another cluster held the schedule configuration lock for over ${CONFIG_LOCK_WAIT_MS / 1000} s`,
      );
    }
    await clock.sleep(50);
  }
  try {
    const byName = new Map((await store.list()).map((record) => [record.name, record]));
    for (const entry of entries) {
      const fresh = defineSchedule(entry.task, entry.args, entry.options, clock.now(), config.timeZone);
      const existing = byName.get(fresh.name);
      if (!existing) {
        await store.save(fresh);
        outcome.created.push(fresh.name);
      } else if (definitionOf(existing) !== definitionOf(fresh)) {
        await store.save({
          ...fresh,
          id: existing.id,
          createdAt: existing.createdAt,
          paused: existing.paused,
          ...(existing.lastRunAt !== undefined ? { lastRunAt: existing.lastRunAt } : {}),
        });
        outcome.updated.push(fresh.name);
      }
    }
  } finally {
    await store.releaseLeadership(lock, owner).catch(() => undefined);
  }
  if (outcome.created.length + outcome.updated.length > 0) {
    logger.info(
      { created: outcome.created.join(',') || '-', updated: outcome.updated.join(',') || '-' },
      'schedules from the configuration written',
    );
  }
  return outcome;
}

/** What the configuration decides about a stored schedule (runs left and paused belong to the store). */
function definitionOf(record: ScheduleRecord): string {
  return stableJson([
    record.task,
    record.args,
    record.options,
    record.kind,
    record.cron ?? null,
    record.minutes ?? null,
    record.timeZone ?? null,
  ]);
}

/** JSON with object keys sorted: stores may give objects back with their keys in another order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : item,
  );
}

export type { ConfiguredSchedule };
