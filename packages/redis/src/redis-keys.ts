import { DEFAULT_DEPLOYMENT, InvalidArgumentError } from '@tasq/core/backend';

/** The default key prefix: every key tasq writes starts with `<prefix>:`. */
export const DEFAULT_PREFIX = 'tasq';

/** Longest queue name accepted: keys stay short and readable in `redis-cli --scan`. */
const MAX_QUEUE_NAME_LENGTH = 200;

/** Check a deployment prefix; throws `InvalidArgumentError` naming the problem. */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string' || prefix.length === 0) {
    throw new InvalidArgumentError('redis `prefix` must be a non-empty string (default "tasq")');
  }
  if (/[{}\s]/.test(prefix)) {
    throw new InvalidArgumentError(
      `redis \`prefix\` ${JSON.stringify(prefix)} must not contain "{", "}" or whitespace: braces would break the hash tags that keep a queue in one Redis Cluster slot`,
    );
  }
  return prefix;
}

/**
 * The key prefix of a deployment: `prefix` (default "tasq"), then `:<deployment>` for any deployment but
 * the default one, so deployments sharing a server never see each other's keys or channels, and a
 * deployment that never set `name` keeps the keys it always had. Checked like a prefix.
 */
export function deploymentPrefix(prefix: string | undefined, deployment: string | undefined): string {
  const base = checkPrefix(prefix ?? DEFAULT_PREFIX);
  if (deployment === undefined || deployment === DEFAULT_DEPLOYMENT) return base;
  return checkPrefix(`${base}:${deployment}`);
}

/**
 * Every key of one queue. The queue name is the hash tag (`tasq:{emails}:ready`), so on Redis Cluster all
 * keys of a queue live in one slot and each Lua script touches a single shard.
 */
export class QueueKeys {
  /** Sorted set: id → (9 − priority) × 2^44 + sequence. */
  readonly ready: string;
  /** Sorted set: id → lease deadline (epoch ms). */
  readonly reserved: string;
  /** Sorted set: id → due time (epoch ms). */
  readonly delayed: string;
  /** List of dead-lettered ids written before `deadAt` existed (moved into it on first administration use). */
  readonly dead: string;
  /** Sorted set: dead id → deadAt × 1000 + (sequence mod 1000): newest death first, unique scores. */
  readonly deadAt: string;
  /** Sorted set: live id → store sequence: the administration listing, newest stored first. */
  readonly stored: string;
  /** Hash: job id → id of the newest package labelled with it (live or dead). */
  readonly jobIds: string;
  /** List of wake-up tokens blocked reservers wait on (BLPOP). */
  readonly wake: string;
  /** Counter for FIFO order within a priority. */
  readonly sequence: string;
  /** Prefix of the per-package hashes (body, priority, deliveries). */
  readonly jobPrefix: string;

  constructor(prefix: string, queue: string) {
    checkQueueName(queue);
    const base = `${prefix}:{${queue}}:`;
    this.ready = `${base}ready`;
    this.reserved = `${base}reserved`;
    this.delayed = `${base}delayed`;
    this.dead = `${base}dead`;
    this.deadAt = `${base}dead-at`;
    this.stored = `${base}stored`;
    this.jobIds = `${base}job-ids`;
    this.wake = `${base}wake`;
    this.sequence = `${base}sequence`;
    this.jobPrefix = `${base}job:`;
  }

  job(id: string): string {
    return this.jobPrefix + id;
  }
}

/**
 * Keys of the administration state that spans queues. Each is a single key, so on Redis Cluster every
 * command on it touches one slot.
 */
export class AdministrationKeys {
  /** Sorted set: queue → epoch ms an instance last enqueued to it (where `find` looks for a job id). */
  readonly queues: string;
  /** Set of paused queues. */
  readonly paused: string;
  /** Hash: job id → cancel mark as JSON ({ reason, at }). */
  readonly cancelMarks: string;
  constructor(prefix: string) {
    this.queues = `${prefix}:admin:queues`;
    this.paused = `${prefix}:admin:paused`;
    this.cancelMarks = `${prefix}:admin:cancel-marks`;
  }
}

/** Check a queue name; throws `InvalidArgumentError` naming the problem. */
export function checkQueueName(queue: string): void {
  if (typeof queue !== 'string' || queue.length === 0) {
    throw new InvalidArgumentError('queue name must be a non-empty string');
  }
  if (queue.length > MAX_QUEUE_NAME_LENGTH) {
    throw new InvalidArgumentError(
      `queue name is ${queue.length} characters long; the limit is ${MAX_QUEUE_NAME_LENGTH}`,
    );
  }
  if (queue.includes('{') || queue.includes('}')) {
    throw new InvalidArgumentError(
      `queue name ${JSON.stringify(queue)} must not contain "{" or "}": the name is the Redis Cluster hash tag of its keys`,
    );
  }
}

/**
 * Keys of the result backend. They share one hash tag (`tasq:{results}:...`) so that saving a result
 * and updating its indexes is one atomic script; on Redis Cluster the result backend lives on one shard.
 */
export class ResultKeys {
  /** Prefix the Lua scripts extend: `<prefix>:{results}:`. */
  readonly base: string;
  constructor(prefix: string) {
    this.base = `${prefix}:{results}:`;
  }
  result(id: string): string {
    return `${this.base}result:${id}`;
  }
  /** Pub/sub channel a save publishes on, so waiters wake without polling. */
  savedChannel(id: string): string {
    return `${this.base}saved:${id}`;
  }
  /** Set of paused queues, for a broker that keeps no pause flags of its own. */
  get paused(): string {
    return `${this.base}paused`;
  }
  /** Hash: job id → cancel mark as JSON ({ reason, at }), for a broker that keeps no cancel marks. */
  get cancelMarks(): string {
    return `${this.base}cancel-marks`;
  }
  /** A job's latest progress (JSON { value, at }). */
  progress(id: string): string {
    return `${this.base}progress:${id}`;
  }
  claim(key: string): string {
    return `${this.base}claim:${key}`;
  }
  /** The ids of the results saved with `key` as their keepUntilClaimed. */
  heldBy(key: string): string {
    return `${this.base}held-by:${key}`;
  }
  /**
   * The lexicographic indexes a list query reads (ids with score 0, so ZREVRANGEBYLEX pages by id): one
   * per status, and one per status and name. A query without a status reads both statuses' indexes and
   * merges them; two indexes per result are all a save writes.
   */
  listIndexes(status: string | undefined, name: string | undefined): string[] {
    const statuses = status !== undefined ? [status] : ['success', 'failure'];
    return statuses.map((each) =>
      name !== undefined ? `${this.base}index:status:${each}:name:${name}` : this.statusIndex(each),
    );
  }
  statusIndex(status: string): string {
    return `${this.base}index:status:${status}`;
  }
  group(group: string): string {
    return `${this.base}group:${group}`;
  }
}

/** Keys of the schedule store; one hash tag so `recordRun` and saves are single-slot scripts. */
export class ScheduleKeys {
  readonly base: string;
  /** Sorted set of every schedule id → nextRunAt. */
  readonly all: string;
  /** Sorted set of the schedules that can run (not paused, repeats left) → nextRunAt. */
  readonly runnable: string;
  constructor(prefix: string) {
    this.base = `${prefix}:{schedules}:`;
    this.all = `${this.base}all`;
    this.runnable = `${this.base}runnable`;
  }
  schedule(id: string): string {
    return `${this.base}schedule:${id}`;
  }
  lock(name: string): string {
    return `${this.base}lock:${name}`;
  }
}

/**
 * The Redis channel a pub/sub channel travels on: `<prefix>:pubsub:<channel>`. Redis channels live apart
 * from keys, but they share one namespace per server (database numbers do not separate them), so the
 * deployment prefix is what keeps two deployments on one server from hearing each other.
 */
export function pubSubChannel(prefix: string, channel: string): string {
  return `${prefix}:pubsub:${channel}`;
}

/** The key holding one rate limit's state: `<prefix>:rate-limit:<key>`. */
export function rateLimitKey(prefix: string, key: string): string {
  return `${prefix}:rate-limit:${key}`;
}
