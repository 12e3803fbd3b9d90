/**
 * Finding and reading the configuration file: tasq.config.{ts,mts,cts,mjs,js,cjs,json} in the working
 * directory, or an explicit path. TypeScript files go through jiti, so `export default defineConfig(...)`
 * loads the same in a CommonJS project (`"type": "commonjs"`, what `npm init` writes) as in an ES module
 * one, on every Node version tasq supports; JavaScript files are imported natively first.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';
import { type ResolvedConfig, type ResolveOptions, resolveConfig } from './resolve.js';

export const CONFIG_FILE_NAMES = [
  'tasq.config.ts',
  'tasq.config.mts',
  'tasq.config.cts',
  'tasq.config.mjs',
  'tasq.config.js',
  'tasq.config.cjs',
  'tasq.config.json',
];

/** The config file in `cwd`, or undefined when there is none. */
export function findConfigFile(cwd: string = process.cwd()): string | undefined {
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = path.join(cwd, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Read a config file's object (the default export, or the JSON document). */
export async function readConfigFile(file: string): Promise<unknown> {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new ConfigError([`configuration file not found: ${absolute}`]);
  if (absolute.endsWith('.json')) {
    try {
      return JSON.parse(await readFile(absolute, 'utf8'));
    } catch (error) {
      throw new ConfigError([`${absolute} is not valid JSON: ${(error as Error).message}`]);
    }
  }
  let module: Record<string, unknown>;
  try {
    module = await importModule(absolute);
  } catch (error) {
    throw new ConfigError([`cannot load ${absolute}: ${(error as Error).message}`]);
  }
  const value = module.default ?? module.config;
  if (value === undefined) throw new ConfigError([`${absolute} has no default export`]);
  return typeof value === 'function' ? await (value as () => unknown)() : value;
}

const TYPESCRIPT = /\.[cm]?ts$/;

/**
 * A module's exports. TypeScript through jiti; JavaScript natively, and through jiti when Node refuses its
 * syntax (ES module syntax in a `.js` file of a CommonJS project).
 */
async function importModule(file: string): Promise<Record<string, unknown>> {
  if (!TYPESCRIPT.test(file)) {
    try {
      return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
  }
  // Loaded on first use: jiti (a bundled transpiler, ~2 MB) stays out of processes without such a file.
  const { createJiti } = await import('jiti');
  const jiti = createJiti(file, { fsCache: false, moduleCache: false });
  return (await jiti.import(file)) as Record<string, unknown>;
}

export interface LoadConfigOptions extends ResolveOptions {
  /** An explicit file; default: the first tasq.config.* in `cwd`. */
  file?: string;
  cwd?: string;
}

/** Load and resolve: file < environment < overrides. No file: the defaults (embedded SQLite). */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const file = options.file ?? findConfigFile(options.cwd);
  const fromFile = file ? await readConfigFile(file) : {};
  if (typeof fromFile !== 'object' || fromFile === null) {
    throw new ConfigError([`${file} must export an object`]);
  }
  return resolveConfig(fromFile, { ...options, source: options.source ?? file });
}
