/**
 * The configuration schema: every option of the Django-Q2 reference in camelCase, plus tasq's own.
 * Numbers keep the reference's units (seconds for times, kilobytes for maxRss); strings may carry a unit
 * ("5m", "512MB"). Unknown keys are errors, so a typo is reported instead of silently ignored.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { parseDurationMs, parseRate, parseSizeBytes } from '../duration.js';
import { parseListenAddress } from '../listen-address.js';
import { SCHEDULE_KINDS } from '../schedule-store.js';

// zod costs ~18 MB of memory in every process that loads it, and worker processes import @tasq/core for
// defineTask without ever reading configuration; so the schema is built on first use.
const require = createRequire(import.meta.url);

function buildSchemas() {
  const { z } = require('zod') as typeof Zod;
  const duration = z.union([z.number(), z.string()]).refine((value) => parseDurationMs(value) !== undefined, {
    message: 'must be a number of seconds or a duration like "500ms", "10s", "5m", "2h"',
  });
  const size = z.union([z.number(), z.string()]).refine((value) => parseSizeBytes(value) !== undefined, {
    message: 'must be a number of kilobytes or a size like "512MB"',
  });
  const rate = z.string().refine((value) => parseRate(value) !== undefined, {
    message: 'must be a rate like "100/s", "10/m" or "1000/h"',
  });
  const positiveInt = z.number().int().positive();
  const scheduleKind = z.enum(SCHEDULE_KINDS);

  /** One schedule of the `schedules` option; the cluster creates or updates it by name at start. */
  const scheduleEntry = z.strictObject({
    /** Task name to enqueue. */
    task: z.string().min(1),
    /** Arguments of every run. Default none. */
    args: z.array(z.unknown()).optional(),
    /** Five fields, or six with seconds first. Implies kind `cron`. */
    cron: z.string().min(1).optional(),
    /** once, minutes, hourly, daily, weekly, biweekly, monthly, bimonthly, quarterly, yearly (or cron). */
    kind: scheduleKind.optional(),
    /** For kind `minutes`. */
    minutes: positiveInt.optional(),
    /** IANA zone; default: the configuration's `timeZone`. */
    timeZone: z.string().min(1).optional(),
    /** Runs in total; -1 forever (the default, except for `once`). */
    repeats: z.number().int().optional(),
    /** First run (not for cron): an ISO date-time or epoch milliseconds. Default: when it is created. */
    start: z.union([z.string().min(1), z.number()]).optional(),
    /** Created paused: no run until `tasq schedule resume`. */
    paused: z.boolean().optional(),
    /** Enqueue options of every run: queue, priority, timeout... */
    job: z.record(z.string(), z.unknown()).optional(),
  });
  const connection = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);
  /** Shorthands of the packages that store results too: a broker, or `resultBackend`, by URL or options. */
  const storeShorthands = {
    /** @tasq/redis: a `redis://` URL or the package's options. */
    redis: connection.optional(),
    /** @tasq/orm: a PostgreSQL or SQLite URL, or the package's options. */
    orm: connection.optional(),
    /** @tasq/orm on PostgreSQL: a `postgres://` URL or the package's options. */
    postgres: connection.optional(),
    /** @tasq/orm on SQLite: a file path or the package's options. */
    sqlite: connection.optional(),
    /** @tasq/mongo: a `mongodb://` URL or the package's options. */
    mongo: connection.optional(),
    /** Database for the mongo shorthand. Default: the URL's database, else "tasq". */
    mongoDb: z.string().min(1).optional(),
  };

  /** Options a cluster reads; `altClusters` entries override any of them. */
  const clusterOptionsShape = {
    /** Workers (processes or threads) in the pool. Default: CPU count. */
    workers: positiveInt.optional(),
    /** Tasks one worker runs at once. Default 1. */
    concurrency: positiveInt.optional(),
    /** How workers run: child processes (default), worker threads, or the sentinel's own event loop. */
    pool: z.enum(['process', 'thread', 'inline']).optional(),
    /** Kill worker children when the sentinel dies. Default true. */
    daemonizeWorkers: z.boolean().optional(),
    /**
     * Tasks a worker runs before it is replaced. Default 100,000: each replacement is a Node start-up
     * (about 0.3 s of CPU); `maxRss` is the guard against leaks.
     */
    recycle: positiveInt.optional(),
    /** RSS above which a worker is replaced after its task (number = KB). */
    maxRss: size.optional(),
    /** Hard limit for one task run; the worker is killed past it. Default: none. */
    timeout: duration.optional(),
    /** When the task's `ctx.signal` is aborted so it can clean up (before `timeout`). */
    softTimeout: duration.optional(),
    /** Zone for schedules. Default UTC. */
    timeZone: z.string().min(1).optional(),
    /** Acknowledge failed tasks too (they are not retried by the broker). Default false. */
    ackFailures: z.boolean().optional(),
    /** Deliveries before a job fails for good and is dead-lettered; 0 = unlimited. Default 0. */
    maxAttempts: z.number().int().min(0).optional(),
    /** The lease: how long a broker waits for a silent cluster before it delivers a package again. Default 60 s. */
    retry: duration.optional(),
    /** Compress large packages: true (gzip) or a compressor name. Default false. */
    compress: z.union([z.boolean(), z.enum(['gzip', 'deflate', 'brotli', 'zstd'])]).optional(),
    /** Successful results kept; 0 = all, -1 = none. Failures are always kept. Default 250. */
    saveLimit: z.number().int().min(-1).optional(),
    /** Apply saveLimit per task name or per group. */
    saveLimitPer: z.enum(['name', 'group']).optional(),
    /** Supervisor loop interval. Default 0.5 s; 0 < guardCycle < 60. */
    guardCycle: duration.optional(),
    /**
     * Packages a cluster holds ahead of its workers. Default 4 × workers × concurrency, at least `bulk`;
     * with neither this nor `bulk` set, more while runs are short (what the pool finishes in about 50 ms,
     * at most 200).
     */
    queueLimit: positiveInt.optional(),
    /**
     * Packages fetched per broker call. Default 2 × workers × concurrency, at most 100 and `queueLimit`;
     * with neither this nor `queueLimit` set, up to half of what the pool finishes in about 50 ms (at most 100).
     */
    bulk: positiveInt.optional(),
    /** Poll interval for brokers that cannot block or be notified. Default 0.2 s. */
    poll: duration.optional(),
    /** Run missed schedule slots after downtime. Default true. */
    catchUp: z.boolean().optional(),
    /** Run the scheduler in this cluster. Default true. */
    scheduler: z.boolean().optional(),
    /** Results expire after this many seconds (true: backend default) instead of the save limit. */
    cached: z.union([z.boolean(), positiveInt]).optional(),
    /** CPUs per worker (Linux), as in the reference. */
    cpuAffinity: positiveInt.optional(),
    /**
     * Queue used when an enqueue names none, and what the cluster consumes when `queues` is not set.
     * Default "default"; in an alt cluster, the alt cluster's name (as in Django-Q2).
     */
    queue: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,80}$/, 'must be 1-80 letters, digits, "_", "-", "." or ":"')
      .optional(),
    /** Queues this cluster consumes. Default [queue]; an alt cluster does not inherit the root's. */
    queues: z.array(z.string().min(1)).min(1).optional(),
    /** Grace period on SIGTERM before running tasks are killed. Default 600 s. */
    stopTimeout: duration.optional(),
    /** Modules that define the tasks (`defineTask`), imported by every worker. */
    tasks: z.array(z.string().min(1)).optional(),
    /** Rate limits by task name or `queue:<name>`: "100/s". */
    rateLimits: z.record(z.string(), rate).optional(),
    /** Django-Q2's admin label, accepted so its settings carry over; tasq shows it nowhere yet. Default "tasq". */
    label: z.string().optional(),
    /**
     * Serve the health probe (GET /health) here: `127.0.0.1:9000`, or a port alone (`:9000`, 9000) for
     * every interface. Default: no probe (`tasq cluster --health`, `startCluster(config, { health })`).
     */
    health: z
      .union([z.string(), z.number()])
      .refine((value) => parseListenAddress(value) !== undefined, {
        message: 'must be [HOST]:PORT like "127.0.0.1:9000" or ":9000", or a port number',
      })
      .optional(),
    /** Lowest level the cluster logs. Default info. */
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
  };

  const configShape = {
    ...clusterOptionsShape,
    /** Deployment name: separates projects sharing one broker (key prefixes, lock names). Default "default". */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, "_", "-" or "."')
      .optional(),
    /** Signing secret, or several, newest first. Default: TASQ_SECRET, else an insecure development key. */
    secret: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** How arguments and results are encoded: json (keeps Date, BigInt, Map, Set...) or msgpack. Default json. */
    serializer: z.enum(['json', 'msgpack']).optional(),
    /** Run every enqueue inline in the caller (for tests). */
    sync: z.boolean().optional(),
    /** Store task arguments with results. Default false: arguments may hold personal data. */
    saveArgs: z.boolean().optional(),
    /**
     * How many dead letters each queue keeps: none older than `maxAge`, at most the newest `maxCount`
     * (an object given replaces the default; a limit left out is no limit). Clusters trim the queues
     * they consume. Default { maxAge: '14d', maxCount: 100000 }; false keeps every dead letter.
     */
    deadLetters: z
      .union([
        z.literal(false),
        z.strictObject({ maxAge: duration.optional(), maxCount: z.number().int().min(0).optional() }),
      ])
      .optional(),
    /** Deadline for one broker or backend call. Default 10 s. */
    callTimeout: duration.optional(),
    /** A broker package name or a module path, with `#Export` for a named export. */
    brokerClass: z.string().min(1).optional(),
    /** Options given to the broker named by brokerClass. */
    brokerOptions: z.record(z.string(), z.unknown()).optional(),
    /**
     * Where results are stored; default: the broker package's own backend. A package or module path
     * (`class`, with `options`), or one shorthand as for the broker (`{ redis: 'redis://cache:6379' }`).
     */
    resultBackend: z
      .strictObject({
        class: z.string().min(1).optional(),
        options: z.record(z.string(), z.unknown()).optional(),
        ...storeShorthands,
        // Accepted here only to be refused by name at resolve: neither stores results.
        rabbitmq: connection.optional(),
        sqs: connection.optional(),
      })
      .optional(),
    /** Schedules by name, created or updated by every cluster at start (`tasq.schedule` from configuration). */
    schedules: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be 1-128 letters, digits, "_", "-", "." or ":"'),
        scheduleEntry,
      )
      .optional(),
    /** Plugin called for every failed attempt. */
    errorReporter: z
      .strictObject({ module: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() })
      .optional(),
    /**
     * The web dashboard (`tasq dashboard`, or `@tasq/dashboard` mounted in an application's server). It
     * answers no page without a password: set `password` (operator: every page and every action) and
     * optionally `viewerPassword` (pages only), or TASQ_DASHBOARD_PASSWORD and
     * TASQ_DASHBOARD_VIEWER_PASSWORD, which take precedence. Keep passwords out of committed files.
     */
    dashboard: z
      .strictObject({
        /** Operator password: every page and every action. At least 8 characters. */
        password: z.string().min(8, 'must be at least 8 characters').optional(),
        /** Viewer password: every page, no action. At least 8 characters. */
        viewerPassword: z.string().min(8, 'must be at least 8 characters').optional(),
        /** How long a sign-in lasts without use. Default 8 h. */
        sessionTtl: duration.optional(),
        /** Interface `tasq dashboard` listens on. Default 127.0.0.1. */
        host: z.string().min(1).optional(),
        /** Port `tasq dashboard` listens on. Default 7077. */
        port: z.number().int().min(0).max(65_535).optional(),
        /**
         * Show jobs' arguments and results on the pages and in the API. Default false: they may hold
         * personal data or secrets, so only their type and size are shown.
         */
        showPayloads: z.boolean().optional(),
      })
      .optional(),
    /** Shorthands: each picks its broker package and passes these options (or a URL). */
    ...storeShorthands,
    /** @tasq/rabbitmq: an `amqp://` URL or the package's options (needs `resultBackend`). */
    rabbitmq: connection.optional(),
    /** @tasq/sqs: an `sqs://` URL or the package's options (needs `resultBackend`). */
    sqs: connection.optional(),
    /**
     * Named clusters whose options override the root's: `tasq cluster --name long`. Each consumes its
     * own queue (`queue`, by default its name), not the root's `queue` and `queues`.
     */
    altClusters: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.strictObject(clusterOptionsShape))
      .optional(),
  };

  const configSchema = z.strictObject(configShape);
  return { configSchema, clusterOptionsShape, scheduleEntry };
}

let schemas: ReturnType<typeof buildSchemas> | undefined;

/** The configuration schema (built on first use). */
export function configSchemas(): ReturnType<typeof buildSchemas> {
  schemas ??= buildSchemas();
  return schemas;
}

/** What a user writes. */
export type TasqConfigInput = Zod.input<ReturnType<typeof buildSchemas>['configSchema']>;

export const defaultWorkers = () => Math.max(1, availableParallelism());
