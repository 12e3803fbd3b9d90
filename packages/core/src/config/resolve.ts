/**
 * Turns what a user wrote (a file, an object, environment variables) into one complete, checked
 * configuration with every default filled in and every time in milliseconds. All problems are reported
 * together, each naming its key.
 */
import type { z } from 'zod';
import { parseDurationMs, parseSizeBytes } from '../duration.js';
import { ConfigError } from '../errors.js';
import { type ListenAddress, parseListenAddress } from '../listen-address.js';
import { defineSchedule, type ScheduleOptions } from '../schedule/schedule-definition.js';
import { unknownVariableWarnings } from './environment-names.js';
import { configSchemas, defaultWorkers, type TasqConfigInput } from './schema.js';

/** The largest `bulk` the defaults choose (packages per reserve). */
const MAX_DEFAULT_BULK = 100;

/**
 * Tasks a worker runs before it is replaced, by default. Every replacement is a fresh Node process, about
 * 0.3 s of CPU to start and import the tasks: the reference's 500 cost two thirds of the throughput of
 * small, fast jobs (apps/bench, recycle-500 rows). At 100,000 that start-up is about 3 µs per job, a
 * few per cent of what a job costs, and a worker still begins afresh now and then. Against a leak,
 * `maxRss` is the guard that follows the leak itself.
 */
const DEFAULT_RECYCLE = 100_000;

/** The development secret used when none is configured; `tasq check` warns about it. */
export const INSECURE_DEVELOPMENT_SECRET = 'tasq-insecure-development-secret';

export interface BrokerSelection {
  /** Module specifier: a package name ("@tasq/redis") or a path, optionally with "#Export". */
  module: string;
  options: Record<string, unknown>;
  /** Which key chose it, for messages ("redis", "brokerClass", "default"). */
  source: string;
}

export interface ResolvedConfig {
  name: string;
  cluster: string;
  /**
   * Where an enqueue that names no queue goes: the root `queue` ("default"), or for an alt cluster its
   * own (`altClusters.<name>.queue`, by default the alt cluster's name).
   */
  queue: string;
  /** The queues this cluster consumes: `queues`, else [queue]. */
  queues: string[];
  /**
   * The root configuration's `queue`, the same in every cluster of the deployment: scheduled runs that
   * name no queue go there, whichever cluster's scheduler leads.
   */
  deploymentQueue: string;
  workers: number;
  concurrency: number;
  pool: 'process' | 'thread' | 'inline';
  daemonizeWorkers: boolean;
  recycle: number;
  maxRssBytes?: number;
  timeoutMs?: number;
  softTimeoutMs?: number;
  timeZone: string;
  ackFailures: boolean;
  maxAttempts: number;
  retryMs: number;
  compress: false | string;
  saveLimit: number;
  saveLimitPer?: 'name' | 'group';
  guardCycleMs: number;
  queueLimit: number;
  bulk: number;
  /**
   * Neither `bulk` nor `queueLimit` was set: a cluster holds at least these defaults, and more while its
   * runs are short (as much as the pool finishes in about 50 ms, at most 100 per reserve).
   */
  adaptiveHold: boolean;
  pollMs: number;
  catchUp: boolean;
  scheduler: boolean;
  cachedSeconds?: number;
  cpuAffinity?: number;
  stopTimeoutMs: number;
  tasks: string[];
  rateLimits: Record<string, string>;
  label: string;
  /** Where the health probe listens (`health`); undefined: no probe unless startCluster is given one. */
  health?: ListenAddress;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  secrets: string[];
  /** True when no secret was configured and the development secret is in use. */
  insecureSecret: boolean;
  serializer: 'json' | 'msgpack';
  sync: boolean;
  saveArgs: boolean;
  /** The dead-letter retention clusters apply to the queues they consume (`deadLetters`); undefined keeps all. */
  deadLetterRetention?: { maxAgeMs?: number; maxCount?: number };
  callTimeoutMs: number;
  broker: BrokerSelection;
  resultBackend?: { module: string; options: Record<string, unknown> };
  errorReporter?: { module: string; options: Record<string, unknown> };
  /** Schedules from the configuration, by name (checked: cron syntax, zone, kind, repeats). */
  schedules: Record<string, ConfiguredSchedule>;
  /** The web dashboard's settings, with the passwords from TASQ_DASHBOARD_* over the file's. */
  dashboard: DashboardSettings;
  /** The validated input, for tools that show it. */
  input: TasqConfigInput;
  /**
   * What is accepted but probably not meant: a TASQ_* variable that sets nothing (`TASQ_WORKRES`,
   * with the closest known name). `connect`, `startCluster` and the CLI show them at start.
   */
  warnings: string[];
}

export interface DashboardSettings {
  /** Operator password (pages and actions); undefined: none configured. */
  password?: string;
  /** Viewer password (pages only). */
  viewerPassword?: string;
  sessionTtlMs: number;
  host: string;
  port: number;
  /** Arguments and results shown on the pages (else only their type and size). Default false. */
  showPayloads: boolean;
}

/** A schedule of the `schedules` option, ready for `defineSchedule(task, args, options)`. */
export interface ConfiguredSchedule {
  task: string;
  args: unknown[];
  /** Includes `name`; `start` is in epoch milliseconds. */
  options: ScheduleOptions & { name: string };
}

const SHORTHANDS: Record<string, string> = {
  redis: '@tasq/redis',
  orm: '@tasq/orm',
  postgres: '@tasq/orm',
  sqlite: '@tasq/orm',
  mongo: '@tasq/mongo',
  rabbitmq: '@tasq/rabbitmq',
  sqs: '@tasq/sqs',
};

export interface ResolveOptions {
  /** Which alt cluster's overrides to apply. */
  cluster?: string;
  /** Environment to read TASQ_* overrides from. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Where the configuration came from, for messages. */
  source?: string;
  /** Applied over the input and the environment (command-line flags). */
  overrides?: Record<string, unknown>;
}

/** Validate and complete a configuration. Throws ConfigError listing every problem. */
export function resolveConfig(input: unknown = {}, options: ResolveOptions = {}): ResolvedConfig {
  const env = options.env ?? process.env;
  const withEnv = { ...applyEnvironment(input, env, options.source), ...(options.overrides ?? {}) };
  const parsed = configSchemas().configSchema.safeParse(withEnv);
  if (!parsed.success) {
    // A bad value that came from the environment is named by its variable: the file may be fine.
    const fromEnvironment = new Set(
      environmentKeys(env).filter((key) => !(key in (options.overrides ?? {}))),
    );
    const origin = (key: string) =>
      fromEnvironment.has(key) ? ` (from ${toEnvName(key)}=${JSON.stringify(env[toEnvName(key)])})` : '';
    throw new ConfigError(formatIssues(parsed.error, origin), options.source);
  }
  const config = parsed.data;
  const issues: string[] = [];

  const cluster = options.cluster ?? 'default';
  let effective: TasqConfigInput = config;
  if (options.cluster && options.cluster !== 'default') {
    const alt = config.altClusters?.[options.cluster];
    if (!alt) {
      const known = Object.keys(config.altClusters ?? {});
      issues.push(
        `cluster "${options.cluster}" is not in altClusters${known.length ? ` (known: ${known.join(', ')})` : ''}`,
      );
    } else {
      // The alt cluster overrides the file's root; what was set at run time (environment variables and
      // flags) overrides both.
      const runtimeKeys = [...environmentKeys(env), ...Object.keys(options.overrides ?? {})].filter(
        (key) => key in configSchemas().clusterOptionsShape,
      );
      const runtime = Object.fromEntries(
        runtimeKeys.map((key) => [key, config[key as keyof TasqConfigInput]]),
      );
      // The root's queues are the default cluster's: an alt cluster consumes its own (as in Django-Q2).
      const { queue: _rootQueue, queues: _rootQueues, ...inherited } = config;
      effective = { ...inherited, queue: options.cluster, ...alt, ...runtime };
    }
  }

  const ms = (value: number | string | undefined) =>
    value === undefined ? undefined : parseDurationMs(value)!;
  const workers = effective.workers ?? defaultWorkers();
  const concurrency = effective.concurrency ?? 1;
  const timeoutMs = ms(effective.timeout);
  const softTimeoutMs = ms(effective.softTimeout);
  const retryMs = ms(effective.retry) ?? 60_000;
  const guardCycleMs = ms(effective.guardCycle) ?? 500;
  // What the pool can run at once. Both fetch defaults follow it: one package per reserve (the
  // reference's bulk 1) costs a broker round trip per job, which at concurrency 50 kept a cluster on
  // defaults at a tenth of the tuned rows (apps/bench). A reserve brings twice what the pool can run (100
  // at most), never more than a queueLimit the user set; a bulk of one pool's worth still ran 10-15%
  // slower on a busy PostgreSQL, where each reserve is a claim statement.
  const capacity = workers * concurrency;
  const bulk = effective.bulk ?? Math.min(capacity * 2, MAX_DEFAULT_BULK, effective.queueLimit ?? Infinity);
  // The reference's default is workers²; with concurrency, what the pool can run at once, squared, is
  // far too much, so: four times what the pool can run at once (two bulks, so two reserves are in
  // flight while the pool is busy), and at least one bulk fetch.
  const queueLimit = effective.queueLimit ?? Math.max(capacity * 4, bulk);

  if (timeoutMs !== undefined && retryMs <= timeoutMs) {
    issues.push(
      `retry (${show(effective.retry ?? 60)}) must be greater than timeout (${show(effective.timeout!)}): ` +
        'the broker would deliver a task again while it may still be running',
    );
  }
  if (softTimeoutMs !== undefined && timeoutMs !== undefined && softTimeoutMs >= timeoutMs) {
    issues.push(
      `softTimeout (${show(effective.softTimeout!)}) must be less than timeout (${show(effective.timeout!)})`,
    );
  }
  if (guardCycleMs <= 0 || guardCycleMs >= 60_000) {
    issues.push(
      `guardCycle (${show(effective.guardCycle!)}) must be greater than 0 and less than 60 seconds`,
    );
  }
  if (bulk > queueLimit) issues.push(`bulk (${bulk}) must not exceed queueLimit (${queueLimit})`);
  if (timeoutMs === 0) issues.push('timeout must be greater than 0 (leave it out for no timeout)');

  const broker = selectBroker(config, issues);
  const resultBackend = config.resultBackend && selectResultBackend(config.resultBackend, issues);
  const secretInput = config.secret ?? env.TASQ_SECRET;
  const secrets = secretInput === undefined ? [INSECURE_DEVELOPMENT_SECRET] : [secretInput].flat();
  const deploymentQueue = config.queue ?? 'default';
  const queue = effective.queue ?? deploymentQueue;
  const timeZone = effective.timeZone ?? 'UTC';
  const schedules = checkSchedules(config.schedules ?? {}, timeZone, issues);
  const dashboard = resolveDashboard(config.dashboard, env, issues);
  if (issues.length > 0) throw new ConfigError(issues, options.source);

  return {
    name: config.name ?? 'default',
    cluster,
    queue,
    queues: effective.queues ?? [queue],
    deploymentQueue,
    workers,
    concurrency,
    pool: effective.pool ?? 'process',
    daemonizeWorkers: effective.daemonizeWorkers ?? true,
    recycle: effective.recycle ?? DEFAULT_RECYCLE,
    maxRssBytes: effective.maxRss === undefined ? undefined : parseSizeBytes(effective.maxRss),
    timeoutMs,
    softTimeoutMs,
    timeZone,
    ackFailures: effective.ackFailures ?? false,
    maxAttempts: effective.maxAttempts ?? 0,
    retryMs,
    compress: effective.compress === true ? 'gzip' : (effective.compress ?? false),
    saveLimit: effective.saveLimit ?? 250,
    saveLimitPer: effective.saveLimitPer,
    guardCycleMs,
    queueLimit,
    bulk,
    adaptiveHold: effective.bulk === undefined && effective.queueLimit === undefined,
    pollMs: ms(effective.poll) ?? 200,
    catchUp: effective.catchUp ?? true,
    scheduler: effective.scheduler ?? true,
    cachedSeconds:
      effective.cached === true ? 3600 : effective.cached === false ? undefined : effective.cached,
    cpuAffinity: effective.cpuAffinity,
    stopTimeoutMs: ms(effective.stopTimeout) ?? 600_000,
    tasks: effective.tasks ?? [],
    rateLimits: effective.rateLimits ?? {},
    label: effective.label ?? 'tasq',
    health: effective.health === undefined ? undefined : parseListenAddress(effective.health),
    logLevel: effective.logLevel ?? 'info',
    secrets,
    insecureSecret: secretInput === undefined,
    serializer: config.serializer ?? 'json',
    sync: config.sync ?? false,
    saveArgs: config.saveArgs ?? false,
    deadLetterRetention: deadLetterRetentionOf(config.deadLetters, ms),
    callTimeoutMs: ms(config.callTimeout) ?? 10_000,
    broker,
    resultBackend,
    errorReporter: config.errorReporter
      ? { module: config.errorReporter.module, options: config.errorReporter.options ?? {} }
      : undefined,
    schedules,
    dashboard,
    input: config,
    warnings: unknownVariableWarnings(env, Object.keys(configSchemas().configSchema.shape).map(toEnvName)),
  };
}

function resolveDashboard(
  input: TasqConfigInput['dashboard'],
  env: Record<string, string | undefined>,
  issues: string[],
): DashboardSettings {
  const fromEnv = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const password = fromEnv('TASQ_DASHBOARD_PASSWORD') ?? input?.password;
  const viewerPassword = fromEnv('TASQ_DASHBOARD_VIEWER_PASSWORD') ?? input?.viewerPassword;
  for (const [name, value] of [
    ['TASQ_DASHBOARD_PASSWORD', fromEnv('TASQ_DASHBOARD_PASSWORD')],
    ['TASQ_DASHBOARD_VIEWER_PASSWORD', fromEnv('TASQ_DASHBOARD_VIEWER_PASSWORD')],
  ] as const) {
    if (value !== undefined && value.length < 8) issues.push(`${name} must be at least 8 characters`);
  }
  if (password !== undefined && password === viewerPassword) {
    issues.push(
      'dashboard: the operator and viewer passwords are the same, so a viewer could act; make them differ',
    );
  }
  return {
    ...(password !== undefined ? { password } : {}),
    ...(viewerPassword !== undefined ? { viewerPassword } : {}),
    sessionTtlMs: input?.sessionTtl === undefined ? 8 * 3_600_000 : parseDurationMs(input.sessionTtl)!,
    host: input?.host ?? '127.0.0.1',
    port: input?.port ?? 7077,
    showPayloads: input?.showPayloads ?? false,
  };
}

function selectBroker(config: TasqConfigInput, issues: string[]): BrokerSelection {
  const chosen = Object.keys(SHORTHANDS).filter((key) => config[key as keyof TasqConfigInput] !== undefined);
  if (config.brokerClass) chosen.unshift('brokerClass');
  if (chosen.length > 1) {
    issues.push(`only one broker may be configured, found: ${chosen.join(', ')}`);
  }
  if (config.brokerOptions && !config.brokerClass) issues.push('brokerOptions needs brokerClass');
  if (config.mongoDb && config.mongo === undefined) issues.push('mongoDb needs mongo');
  const key = chosen[0];
  if (key === undefined) return { module: '@tasq/orm', options: {}, source: 'default' };
  if (key === 'brokerClass') {
    return { module: config.brokerClass!, options: config.brokerOptions ?? {}, source: 'brokerClass' };
  }
  const value = config[key as keyof TasqConfigInput] as string | Record<string, unknown>;
  return { ...shorthandPlugin(key, value, config.mongoDb), source: key };
}

/** The packages with a result backend of their own, among the shorthands. */
const RESULT_SHORTHANDS = ['redis', 'orm', 'postgres', 'sqlite', 'mongo'] as const;

function selectResultBackend(
  input: NonNullable<TasqConfigInput['resultBackend']>,
  issues: string[],
): { module: string; options: Record<string, unknown> } | undefined {
  for (const key of ['rabbitmq', 'sqs'] as const) {
    if (input[key] !== undefined) {
      issues.push(
        `resultBackend.${key}: ${key === 'sqs' ? 'SQS' : 'RabbitMQ'} stores no results; use one of ${RESULT_SHORTHANDS.join(', ')}`,
      );
      return undefined;
    }
  }
  const chosen = RESULT_SHORTHANDS.filter((key) => input[key] !== undefined);
  const given = input.class !== undefined ? ['class', ...chosen] : chosen;
  if (input.mongoDb && input.mongo === undefined)
    issues.push('resultBackend.mongoDb needs resultBackend.mongo');
  if (given.length !== 1) {
    issues.push(
      given.length === 0
        ? `resultBackend needs class (a package or module path) or one of ${RESULT_SHORTHANDS.join(', ')}`
        : `resultBackend takes one backend, found: ${given.join(', ')}`,
    );
    return undefined;
  }
  if (input.class !== undefined) return { module: input.class, options: input.options ?? {} };
  if (input.options) issues.push(`resultBackend.options goes with class; put ${chosen[0]}'s options in it`);
  const key = chosen[0]!;
  return shorthandPlugin(key, input[key]!, input.mongoDb);
}

/** The package a shorthand (`redis: 'redis://...'`) names, and the options it passes: a URL or its own. */
function shorthandPlugin(
  key: string,
  value: string | Record<string, unknown>,
  mongoDb: string | undefined,
): { module: string; options: Record<string, unknown> } {
  const options: Record<string, unknown> = typeof value === 'string' ? { url: value } : { ...value };
  if (key === 'sqlite' && typeof value === 'string') {
    options.url = value.startsWith('sqlite:') ? value : `sqlite:${value}`;
  }
  if (key === 'mongo' && mongoDb) options.database = mongoDb;
  return { module: SHORTHANDS[key]!, options };
}

function checkSchedules(
  entries: NonNullable<TasqConfigInput['schedules']>,
  defaultTimeZone: string,
  issues: string[],
): Record<string, ConfiguredSchedule> {
  const schedules: Record<string, ConfiguredSchedule> = {};
  for (const [name, entry] of Object.entries(entries)) {
    const { task, args = [], start, job, ...rule } = entry;
    let startMs: number | undefined;
    if (typeof start === 'string') {
      startMs = Date.parse(start);
      if (Number.isNaN(startMs)) {
        issues.push(`schedules.${name}.start: "${start}" is not an ISO date-time`);
        continue;
      }
    } else startMs = start;
    const options: ConfiguredSchedule['options'] = {
      name,
      ...rule,
      ...(startMs !== undefined ? { start: startMs } : {}),
      ...(job !== undefined ? { job } : {}),
    };
    try {
      // Checked here so a bad cron or zone stops `tasq check` and the cluster at start, naming the key.
      defineSchedule(task, args, options, Date.now(), defaultTimeZone);
    } catch (error) {
      issues.push(`schedules.${name}: ${(error as Error).message}`);
      continue;
    }
    schedules[name] = { task, args, options };
  }
  return schedules;
}

function show(value: number | string): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value);
}

/** One line per issue; `origin` adds where a top-level key's value came from when that is not the file. */
function formatIssues(error: z.ZodError, origin: (key: string) => string = () => ''): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k));
      return `unknown option${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
    }
    const from = issue.path.length > 0 ? origin(String(issue.path[0])) : '';
    return `${path || '(root)'}${from}: ${issue.message}`;
  });
}

/**
 * Environment overrides: TASQ_WORKERS=4 sets `workers`. Numbers, booleans, comma lists (queues, tasks)
 * and JSON objects are parsed; the result is validated like the rest.
 */
export function applyEnvironment(
  input: unknown,
  env: Record<string, string | undefined>,
  source?: string,
): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(['the configuration must be an object'], source);
  }
  const result: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  const keys = Object.keys(configSchemas().configSchema.shape);
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('TASQ_') || raw === undefined || name === 'TASQ_SECRET') continue;
    const key = keys.find((k) => toEnvName(k) === name);
    if (!key) continue;
    result[key] = parseEnvValue(key, raw);
  }
  return result;
}

/** The configuration keys that TASQ_* variables in `env` set. */
function environmentKeys(env: Record<string, string | undefined>): string[] {
  return Object.keys(configSchemas().configSchema.shape).filter(
    (key) => env[toEnvName(key)] !== undefined && toEnvName(key) !== 'TASQ_SECRET',
  );
}

/** Dead letters kept by default: two weeks, and at most 100,000 per queue. */
export const DEFAULT_DEAD_LETTER_RETENTION = Object.freeze({ maxAgeMs: 14 * 86_400_000, maxCount: 100_000 });

function deadLetterRetentionOf(
  setting: false | { maxAge?: number | string; maxCount?: number } | undefined,
  ms: (value: number | string | undefined) => number | undefined,
): { maxAgeMs?: number; maxCount?: number } | undefined {
  if (setting === false) return undefined;
  if (setting === undefined) return { ...DEFAULT_DEAD_LETTER_RETENTION };
  const maxAgeMs = ms(setting.maxAge);
  if (maxAgeMs === undefined && setting.maxCount === undefined) return undefined;
  return {
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    ...(setting.maxCount !== undefined ? { maxCount: setting.maxCount } : {}),
  };
}

export function toEnvName(key: string): string {
  return `TASQ_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

const LIST_KEYS = new Set(['queues', 'tasks']);

function parseEnvValue(key: string, raw: string): unknown {
  const text = raw.trim();
  if (LIST_KEYS.has(key) && !text.startsWith('['))
    return text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}
