/**
 * Log output for the CLI: one readable line per event (`text`, the default) or one JSON object per line
 * (`json`, for log shippers). Implements core's Logger, so brokers and tasks log through it too.
 */
import type { Logger } from '@tasq/core';
import type { ClusterEventName } from '../runtime/events.js';

export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface CliLogger extends Logger {
  /** Log a cluster event at the level that suits it. */
  event(name: ClusterEventName, payload: unknown): void;
}

export function createLogger(
  options: { format?: LogFormat; level?: LogLevel; write?: (line: string) => void } = {},
): CliLogger {
  const format = options.format ?? 'text';
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const emit = (level: Exclude<LogLevel, 'silent'>, fields: object, message?: string) => {
    if (LEVELS[level] < threshold) return;
    const time = new Date().toISOString();
    if (format === 'json') {
      write(JSON.stringify({ time, level, ...(message !== undefined ? { msg: message } : {}), ...fields }));
      return;
    }
    const parts = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(
        ([key, value]) =>
          `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`,
      );
    write(
      `${time} ${level.toUpperCase().padEnd(5)} ${message ?? ''}${parts.length ? `  ${parts.join(' ')}` : ''}`,
    );
  };
  return {
    debug: (fields, message) => emit('debug', fields, message),
    info: (fields, message) => emit('info', fields, message),
    warn: (fields, message) => emit('warn', fields, message),
    error: (fields, message) => emit('error', fields, message),
    event(name, payload) {
      // Most task events are below the usual threshold: decide before building anything.
      if (threshold > LEVELS.debug && (name === 'task-received' || name === 'task-started')) return;
      const fields = { ...(payload as Record<string, unknown>) };
      if (name === 'task-log') {
        const level = (fields.level as Exclude<LogLevel, 'silent'>) ?? 'info';
        emit(
          level,
          { workerId: fields.workerId, ...(fields.fields as object) },
          fields.message as string | undefined,
        );
        return;
      }
      emit(levelOf(name, fields), fields, name.replaceAll('-', ' '));
    },
  };
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
