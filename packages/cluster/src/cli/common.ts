/** What every command shares: parsing with node:util, the configuration, output. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, parseDurationMs, type ResolvedConfig, Tasq } from '@tasq/core';
import { type CliLogger, createLogger, type LogFormat, type LogLevel } from './log.js';
import { withResolvableModules } from '../runtime/broker-modules.js';
import { UsageError } from './errors.js';

export const commonOptions = {
  config: { type: 'string', short: 'c' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const commonHelp = `Common options:
  -c, --config FILE      configuration file (default: tasq.config.{ts,mts,cts,mjs,js,cjs,json} in this folder)
      --log-format F     json (default), or text (default in a terminal)
      --log-level L      debug, info (default), warn, error or silent
  -h, --help             this help`;

export interface CommandIo {
  out: (line: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: O,
  allowPositionals = true,
) {
  try {
    return parseArgs({
      args: argv,
      options: { ...commonOptions, ...options },
      allowPositionals,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function loggerFrom(values: Record<string, unknown>, config?: ResolvedConfig): CliLogger {
  const format = values['log-format'] as string | undefined;
  if (format !== undefined && format !== 'text' && format !== 'json')
    throw new UsageError(`--log-format must be text or json, got "${format}"`);
  const level = (values['log-level'] as string | undefined) ?? config?.logLevel ?? 'info';
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level)) {
    throw new UsageError(`--log-level must be debug, info, warn, error or silent, got "${level}"`);
  }
  return createLogger({
    ...(format !== undefined ? { format: format as LogFormat } : {}),
    level: level as LogLevel,
  });
}

/**
 * The configuration a command runs with. Its warnings (a TASQ_* variable that sets nothing) go to
 * stderr, unless the command shows them itself (`showsWarnings`: the cluster logs them, check reports them).
 */
export async function readConfig(
  values: Record<string, unknown>,
  io: CommandIo,
  extra: { cluster?: string; overrides?: Record<string, unknown>; showsWarnings?: boolean } = {},
): Promise<ResolvedConfig> {
  const config = await loadConfig({
    ...(values.config !== undefined ? { file: values.config as string } : {}),
    cwd: io.cwd,
    env: io.env,
    ...(extra.cluster !== undefined ? { cluster: extra.cluster } : {}),
    ...(extra.overrides ? { overrides: extra.overrides } : {}),
  });
  if (!extra.showsWarnings)
    for (const warning of config.warnings) process.stderr.write(`tasq: warning: ${warning}\n`);
  return withResolvableModules(config, io.cwd);
}

export function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return Number(value);
}

/** A duration flag ("10s", "500ms", "5m"), at least `minimumMs`; undefined when the flag was not given. */
export function durationFlag(value: string | undefined, flag: string, minimumMs = 0): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDurationMs(value);
  if (ms === undefined || ms < minimumMs) {
    const least = minimumMs > 0 ? ` of at least ${minimumMs}ms` : ' like 10s, 500ms or 5m';
    throw new UsageError(`${flag} must be a duration${least}, got "${value}"`);
  }
  return ms;
}

/** A task's arguments from the command line: a JSON array, or one JSON value taken as the only argument. */
export function taskArguments(argsJson: string | undefined): unknown[] {
  if (argsJson === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(argsJson);
  } catch (error) {
    throw new UsageError(`ARGS_JSON is not valid JSON: ${(error as Error).message}`);
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** Opens a client for a command (its modules resolve from the command's folder). */
export const openClient = (config: ResolvedConfig, io: CommandIo) => () => Tasq.open(config, { cwd: io.cwd });

/** Run `body` with an open client and close it afterwards. */
export async function withClient<T>(open: () => Promise<Tasq>, body: (tasq: Tasq) => Promise<T>): Promise<T> {
  const tasq = await open();
  try {
    return await body(tasq);
  } finally {
    await tasq.close();
  }
}

export function formatTime(epochMs: number | undefined): string {
  return epochMs === undefined ? '-' : new Date(epochMs).toISOString();
}
