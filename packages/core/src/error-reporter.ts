/**
 * Error reporters: plugins told about every failed task attempt (Sentry, an alerting hook, a log
 * pipeline). Configured as `errorReporter: { module: '@tasq/sentry', options: { dsn } }`; the module's
 * default export is a factory made with `defineErrorReporter`.
 *
 * Arguments are personal data more often than not: a report carries them only when the reporter's
 * options say `sendArgs: true`, and then with the values of sensitive-looking keys replaced.
 */
import type { TaskErrorInfo } from './result-backend.js';
import type { Logger } from './logger.js';

export interface TaskFailureReport {
  task: string;
  jobId: string;
  queue: string;
  /** Broker deliveries so far (1 = first). */
  attempt: number;
  /** True when the job will not be tried again. */
  final: boolean;
  error: TaskErrorInfo;
  cluster: string;
  startedAt: number;
  stoppedAt: number;
  /** Present only when the reporter asked for arguments; redacted. */
  args?: unknown[];
}

export interface ErrorReporter {
  readonly name: string;
  /** Called for every failed attempt. Must not throw; a slow report does not hold up the cluster. */
  report(failure: TaskFailureReport): void | Promise<void>;
  /** Send what is buffered (called on shutdown), waiting at most `timeoutMs`. */
  flush?(timeoutMs: number): Promise<void>;
  /** Flush and release what the reporter holds (clients, listeners). Called once, last. */
  close?(timeoutMs: number): Promise<void>;
}

export interface ErrorReporterContext {
  logger: Logger;
}

export interface ErrorReporterFactory<Options = Record<string, unknown>> {
  readonly kind: 'tasq.error-reporter';
  /** Whether reports should carry (redacted) arguments. */
  wantsArgs(options: Options): boolean;
  create(options: Options, context: ErrorReporterContext): ErrorReporter | Promise<ErrorReporter>;
}

/** Make an error reporter module's default export. */
export function defineErrorReporter<Options extends Record<string, unknown>>(definition: {
  create(options: Options, context: ErrorReporterContext): ErrorReporter | Promise<ErrorReporter>;
  wantsArgs?(options: Options): boolean;
}): ErrorReporterFactory<Options> {
  return {
    kind: 'tasq.error-reporter',
    wantsArgs: definition.wantsArgs ?? ((options) => options.sendArgs === true),
    create: definition.create,
  };
}

export function isErrorReporterFactory(value: unknown): value is ErrorReporterFactory {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as ErrorReporterFactory).kind === 'tasq.error-reporter'
  );
}

/** Keys whose values are replaced in reported arguments. Matched case-insensitively, as substrings. */
export const SENSITIVE_KEYS = [
  'password',
  'passwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'apikey',
  'api_key',
  'credit',
  'card',
  'ssn',
];

/** A copy of `value` with the values of sensitive-looking keys replaced by "[redacted]". */
export function redact(value: unknown, keys: readonly string[] = SENSITIVE_KEYS, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, keys, depth + 1));
  if (value instanceof Map) {
    return new Map(
      [...value].map(([k, v]) => [k, sensitive(String(k), keys) ? '[redacted]' : redact(v, keys, depth + 1)]),
    );
  }
  if (value instanceof Date || value instanceof Uint8Array || value instanceof Set) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = sensitive(key, keys) ? '[redacted]' : redact(item, keys, depth + 1);
  }
  return out;
}

function sensitive(key: string, keys: readonly string[]): boolean {
  const lower = key.toLowerCase();
  return keys.some((k) => lower.includes(k));
}
