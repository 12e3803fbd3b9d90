/**
 * Log output for the CLI, through pino: one JSON object per line (the default, for log shippers), or,
 * in a terminal, pino-pretty's readable line (`--log-format text` asks for it anywhere). Implements core's
 * Logger, so brokers and tasks log through it too. Secrets and task arguments are redacted wherever a
 * field of that name appears.
 */
import { createRequire } from 'node:module';
import type { Logger } from '@tasq/core';
import type pino from 'pino';
import type { DestinationStream } from 'pino';
import type { PrettyOptions } from 'pino-pretty';
import type { ClusterEventName } from '../runtime/events.js';

export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * Fields never written as they are: signing keys, passwords, task arguments. Top-level paths only, as
 * tasq's own lines are flat: wildcard paths (`*.args`) cut pino's rate from ~150,000 to ~55,000 lines/s
 * (apps/bench `logging`); `redact` adds paths where an application logs nested objects.
 */
export const REDACTED_FIELDS = ['secret', 'secrets', 'password', 'authorization', 'args', 'kwargs'];

export interface CliLogger extends Logger {
  /** Log a cluster event at the level that suits it. */
  event(name: ClusterEventName, payload: unknown): void;
  /** The pino logger underneath, for `child()` or an application's own lines. */
  readonly pino: pino.Logger;
}

export interface CreateLoggerOptions {
  /** `json` (default), or `text` (default when stderr is a terminal). */
  format?: LogFormat;
  level?: LogLevel;
  /** Where lines go; default stderr. A function receives each line without its newline. */
  write?: (line: string) => void;
  /** More field paths to redact (pino's redact syntax: `user.email`, `*.token`). */
  redact?: string[];
}

const require = createRequire(import.meta.url);

/**
 * pino, loaded by the first logger made: the package's index exports createLogger, and an application
 * that starts a cluster with a logger of its own (or none) should not load pino's 30 modules (0.37 MiB
 * of live heap after a full GC, measured beside a loaded @tasq/cluster and @tasq/redis).
 */
type Pino = typeof pino;

function loadPino(): Pino {
  return require('pino') as Pino;
}

/** pino-pretty prints these itself (`name` in parentheses after the level) or leaves them out. */
const SHOWN_ELSEWHERE = new Set(['level', 'time', 'pid', 'hostname', 'name']);

export function createLogger(options: CreateLoggerOptions = {}): CliLogger {
  const format = options.format ?? (process.stderr.isTTY ? 'text' : 'json');
  const level = options.level ?? 'info';
  const pino = loadPino();
  const destination = destinationOf(pino, options.write, format);
  const logger = pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACTED_FIELDS, ...(options.redact ?? [])], censor: '[redacted]' },
    },
    destination,
  );
  const debugWanted = logger.isLevelEnabled('debug');
  return {
    pino: logger,
    debug: (fields, message) => logger.debug(fields, message),
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    error: (fields, message) => logger.error(fields, message),
    event(name, payload) {
      // Most task events are below the usual threshold: decide before building anything.
      if (!debugWanted && (name === 'task-received' || name === 'task-started')) return;
      const fields = withWorkerPid(payload as Record<string, unknown>);
      if (name === 'task-log') {
        const taskLevel = (fields.level as Exclude<LogLevel, 'silent'>) ?? 'info';
        logger[taskLevel](
          { workerId: fields.workerId, ...(fields.fields as object) },
          fields.message as string | undefined,
        );
        return;
      }
      logger[levelOf(name, fields)](fields, name.replaceAll('-', ' '));
    },
  };
}

/**
 * JSON: synchronous writes to fd 2, as `process.stderr` does for files and pipes, so the last lines
 * before a crash are never lost. Buffered writes would be faster (about 200,000 against 145,000 lines/s
 * measured here), but a line costs some 8 µs either way, against the tens of µs a job costs the cluster. Text: pino-pretty's formatter in this process (no transport thread),
 * one line per entry as `[time] LEVEL (task name): message  key=value ...`, coloured in a terminal.
 */
function destinationOf(
  pino: Pino,
  write: ((line: string) => void) | undefined,
  format: LogFormat,
): DestinationStream {
  const raw: DestinationStream = write
    ? { write: (chunk: string) => write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk) }
    : pino.destination({ fd: 2, sync: true });
  if (format === 'json') return raw;
  const { prettyFactory } = require('pino-pretty') as {
    prettyFactory: (options: PrettyOptions) => (line: string) => string;
  };
  const prettify = prettyFactory({
    colorize: !write && process.stderr.isTTY === true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    hideObject: true,
    messageFormat: (log, messageKey) => {
      const parts: string[] = [];
      for (const [key, value] of Object.entries(log)) {
        if (value === undefined || SHOWN_ELSEWHERE.has(key) || key === messageKey) continue;
        parts.push(
          `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`,
        );
      }
      const message = (log[messageKey] as string | undefined) ?? '';
      return parts.length > 0 ? `${message}  ${parts.join(' ')}` : message;
    },
  });
  return { write: (line: string) => raw.write(prettify(line)) };
}

/**
 * Every line already carries the cluster's own `pid` (pino's base fields); an event's `pid` is a worker's.
 * Written as `workerPid`, so a JSON line never holds the key twice (parsers keep only the last one) and the
 * text format, which hides the cluster's pid, still shows the worker's.
 */
function withWorkerPid(fields: Record<string, unknown>): Record<string, unknown> {
  if (!('pid' in fields)) return fields;
  const { pid, ...rest } = fields;
  return { ...rest, workerPid: pid };
}

function levelOf(name: ClusterEventName, fields: Record<string, unknown>): Exclude<LogLevel, 'silent'> {
  switch (name) {
    case 'task-received':
    case 'task-started':
      return 'debug';
    case 'task-failed':
      return fields.final ? 'error' : 'warn';
    case 'package-rejected':
    case 'task-dead-lettered':
    case 'late-completion':
    case 'lease-lost':
    case 'fetch-error':
    case 'settle-error':
    case 'task-timed-out':
    case 'task-memory-exceeded':
    case 'task-soft-timed-out':
      return 'warn';
    case 'worker-offline':
      return fields.expected ? 'info' : 'warn';
    default:
      return 'info';
  }
}
