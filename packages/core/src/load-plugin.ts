/**
 * Loading brokers and result backends by name, so swapping backends is a configuration change:
 * `"@tasq/redis"` (a package's default export), `"./brokers/my-broker.js#MyBroker"` (a named export of a
 * module, relative to the working directory), or `"memory"` (the in-process broker, for tests).
 * Packages are resolved from the application's directory, not from tasq's own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BROKER_SPECIFICATION_VERSION, type Broker } from './broker.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { BrokerSelection } from './config/resolve.js';
import { ConfigError } from './errors.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { MemoryBroker, MemoryBrokerStore } from './memory/memory-broker.js';
import { MemoryResultBackend, MemoryResultStore } from './memory/memory-result-backend.js';
import { MemoryPubSub, MemoryPubSubHub } from './memory/memory-pubsub.js';
import { MemoryScheduleState, MemoryScheduleStore } from './memory/memory-schedule-store.js';
import { type ErrorReporter, isErrorReporterFactory } from './error-reporter.js';
import { type BrokerPlugin, defineBrokerPlugin, isBrokerPlugin, type PluginContext } from './plugin.js';
import type { ResultBackend } from './result-backend.js';

const memoryStores = new Map<
  string,
  {
    broker: MemoryBrokerStore;
    results: MemoryResultStore;
    schedules: MemoryScheduleState;
    pubsub: MemoryPubSubHub;
  }
>();

/** The in-process broker as a plugin: every client in one process with one deployment name shares its state. */
export const memoryPlugin: BrokerPlugin<{ maxPackageBytes?: number }> = defineBrokerPlugin({
  name: 'memory',
  createBroker: (options, context) =>
    new MemoryBroker({ store: memoryState(context.deployment).broker, clock: context.clock, ...options }),
  createResultBackend: (_options, context) =>
    new MemoryResultBackend({
      store: memoryState(context.deployment).results,
      clock: context.clock,
      cached: context.resultTtlSeconds,
    }),
  createScheduleStore: (_options, context) =>
    new MemoryScheduleStore({ state: memoryState(context.deployment).schedules, clock: context.clock }),
  createPubSub: (_options, context) => new MemoryPubSub({ hub: memoryState(context.deployment).pubsub }),
});

function memoryState(deployment: string) {
  let state = memoryStores.get(deployment);
  if (!state) {
    state = {
      broker: new MemoryBrokerStore(),
      results: new MemoryResultStore(),
      schedules: new MemoryScheduleState(),
      pubsub: new MemoryPubSubHub(),
    };
    memoryStores.set(deployment, state);
  }
  return state;
}

/** Import a module named in configuration, resolved from `cwd`. */
export async function importFromApplication(
  specifier: string,
  cwd: string = process.cwd(),
): Promise<Record<string, unknown>> {
  const [modulePath] = specifier.split('#') as [string];
  let url: string;
  if (modulePath.startsWith('.') || path.isAbsolute(modulePath)) {
    url = pathToFileURL(path.resolve(cwd, modulePath)).href;
  } else {
    url = pathToFileURL(resolvePackage(modulePath, cwd)).href;
  }
  return (await import(url)) as Record<string, unknown>;
}

function resolvePackage(name: string, cwd: string): string {
  try {
    return createRequire(path.join(cwd, 'package.json')).resolve(name);
  } catch {
    // ESM-only packages have no "require"/"default" export condition: read their exports map ourselves.
  }
  const parts = name.split('/');
  const packageName = name.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  const subpath = `.${name.slice(packageName.length)}`;
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const root = path.join(dir, 'node_modules', packageName);
    const manifest = path.join(root, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports?: unknown; main?: string };
      const entry =
        pickExport(pkg.exports, subpath) ?? (subpath === '.' ? (pkg.main ?? 'index.js') : subpath);
      return path.join(root, entry);
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new ConfigError([`cannot find the package "${packageName}" from ${cwd}: is it installed?`]);
}

function pickExport(exports: unknown, subpath: string): string | undefined {
  if (typeof exports === 'string') return subpath === '.' ? exports : undefined;
  if (typeof exports !== 'object' || exports === null) return undefined;
  const map = exports as Record<string, unknown>;
  const target = Object.keys(map).some((k) => k.startsWith('.'))
    ? map[subpath]
    : subpath === '.'
      ? map
      : undefined;
  return conditional(target);
}

function conditional(target: unknown): string | undefined {
  if (typeof target === 'string') return target;
  if (typeof target !== 'object' || target === null) return undefined;
  const map = target as Record<string, unknown>;
  for (const condition of ['import', 'node', 'default']) {
    const found = conditional(map[condition]);
    if (found) return found;
  }
  return undefined;
}

/** Load the broker plugin a configuration names. A class export is wrapped: `new Class(options, context)`. */
export async function loadBrokerPlugin(specifier: string, cwd?: string): Promise<BrokerPlugin> {
  if (specifier === 'memory' || specifier === '@tasq/core#memory') return memoryPlugin as BrokerPlugin;
  let module: Record<string, unknown>;
  try {
    module = await importFromApplication(specifier, cwd);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const hint =
      specifier === '@tasq/orm'
        ? ' (no broker is configured, so the embedded SQLite default needs @tasq/orm: install it or configure a broker)'
        : '';
    throw new ConfigError([`cannot load broker "${specifier}": ${(error as Error).message}${hint}`]);
  }
  const exportName = specifier.split('#')[1];
  const exported = exportName ? module[exportName] : (module.default ?? module);
  if (exported === undefined)
    throw new ConfigError([`"${specifier}" has no export named ${exportName ?? 'default'}`]);
  if (isBrokerPlugin(exported)) {
    if (exported.specificationVersion !== BROKER_SPECIFICATION_VERSION) {
      throw new ConfigError([
        `broker "${specifier}" implements ${String(exported.specificationVersion)}, but this tasq needs ${BROKER_SPECIFICATION_VERSION}`,
      ]);
    }
    return exported;
  }
  if (typeof exported === 'function') {
    // The context (deployment name, clock, logger) comes second, so a class keeps a deployment's queues apart.
    const BrokerClass = exported as new (options: unknown, context: PluginContext) => Broker;
    return defineBrokerPlugin({
      name: BrokerClass.name,
      createBroker: (options, context) => new BrokerClass(options, context),
    });
  }
  throw new ConfigError([`"${specifier}" exports neither a broker plugin nor a broker class`]);
}

/** Create and check a broker: the version it declares must be the one this core implements. */
export async function createBroker(
  selection: BrokerSelection,
  context: PluginContext,
  cwd?: string,
): Promise<{ broker: Broker; plugin: BrokerPlugin }> {
  const plugin = await loadBrokerPlugin(selection.module, cwd);
  const broker = await plugin.createBroker(selection.options, context);
  if (broker.specificationVersion !== BROKER_SPECIFICATION_VERSION) {
    throw new ConfigError([
      `broker "${selection.module}" implements ${String(broker.specificationVersion)}, but this tasq needs ${BROKER_SPECIFICATION_VERSION}`,
    ]);
  }
  return { broker, plugin };
}

/** The result backend: the configured one, else the broker package's own. */
export async function createResultBackend(
  configured: { module: string; options: Record<string, unknown> } | undefined,
  brokerPlugin: BrokerPlugin,
  brokerOptions: Record<string, unknown>,
  context: PluginContext,
  cwd?: string,
): Promise<ResultBackend> {
  if (configured) {
    const plugin = await loadResultBackendModule(configured, cwd);
    if (isBrokerPlugin(plugin) && plugin.createResultBackend)
      return plugin.createResultBackend(configured.options, context);
    if (typeof plugin === 'function') {
      return new (plugin as new (options: unknown, context: PluginContext) => ResultBackend)(
        configured.options,
        context,
      );
    }
    throw new ConfigError([`resultBackend "${configured.module}" exports no result backend`]);
  }
  if (!brokerPlugin.createResultBackend) {
    throw new ConfigError([
      `the ${brokerPlugin.name} broker has no result backend of its own: set resultBackend (for example { redis: "redis://..." }, or { class, options })`,
    ]);
  }
  return brokerPlugin.createResultBackend(brokerOptions, context);
}

/** What `resultBackend.class` names: a broker package's plugin, or a result backend class. */
export async function loadResultBackendModule(
  configured: { module: string },
  cwd?: string,
): Promise<unknown> {
  if (configured.module === 'memory') return memoryPlugin;
  const module = await importFromApplication(configured.module, cwd);
  const exportName = configured.module.split('#')[1];
  return (exportName ? module[exportName] : (module.default ?? module)) as unknown;
}

export function pluginContext(
  deployment: string,
  logger: Logger = silentLogger,
  clock: Clock = systemClock,
  resultTtlSeconds?: number,
  queueLimit?: number,
): PluginContext {
  return {
    deployment,
    logger,
    clock,
    ...(resultTtlSeconds !== undefined ? { resultTtlSeconds } : {}),
    ...(queueLimit !== undefined ? { queueLimit } : {}),
  };
}

/** Load the error reporter a configuration names (`errorReporter: { module, options }`). */
export async function loadErrorReporter(
  configured: { module: string; options: Record<string, unknown> },
  logger: Logger = silentLogger,
  cwd?: string,
): Promise<{ reporter: ErrorReporter; wantsArgs: boolean }> {
  let module: Record<string, unknown>;
  try {
    module = await importFromApplication(configured.module, cwd);
  } catch (error) {
    throw new ConfigError([`errorReporter: cannot load "${configured.module}": ${(error as Error).message}`]);
  }
  const exportName = configured.module.split('#')[1];
  const factory = exportName ? module[exportName] : (module.default ?? module);
  if (!isErrorReporterFactory(factory)) {
    throw new ConfigError([
      `errorReporter: "${configured.module}" does not export a reporter made with defineErrorReporter`,
    ]);
  }
  return {
    reporter: await factory.create(configured.options, { logger }),
    wantsArgs: factory.wantsArgs(configured.options),
  };
}
