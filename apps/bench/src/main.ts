/**
 * Runs benchmark suites: `node dist/main.js [suiteName...] [--n 20000] [--rounds 3] [--list]`.
 * Every `dist/suites/*.js` exporting `suite: BenchSuite` is a suite. Prints one table per suite and
 * writes its rows as JSON to `results/<suite>-<timestamp>.json`.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, release } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchContext, type BenchRow, type BenchSuite, formatRows } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const suitesFolder = path.join(here, 'suites');
const resultsFolder = path.join(here, '..', 'results');

interface Arguments {
  names: string[];
  /** Undefined when not given: the suite's own default, else DEFAULT_N. */
  n: number | undefined;
  rounds: number | undefined;
  list: boolean;
}

const DEFAULT_N = 20_000;
const DEFAULT_ROUNDS = 3;

function usage(problem: string): never {
  console.error(`${problem}\nusage: node dist/main.js [suiteName...] [--n 20000] [--rounds 3] [--list]`);
  process.exit(2);
}

function positiveInteger(flag: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || !Number.isInteger(value) || value < 1)
    usage(`${flag} needs a positive integer, got ${text ?? 'nothing'}`);
  return value;
}

function parseArguments(argv: string[]): Arguments {
  const parsed: Arguments = { names: [], n: undefined, rounds: undefined, list: false };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === '--list') parsed.list = true;
    else if (argument === '--n') parsed.n = positiveInteger('--n', argv[++i]);
    else if (argument === '--rounds') parsed.rounds = positiveInteger('--rounds', argv[++i]);
    else if (argument.startsWith('--n=')) parsed.n = positiveInteger('--n', argument.slice(4));
    else if (argument.startsWith('--rounds=')) parsed.rounds = positiveInteger('--rounds', argument.slice(9));
    else if (argument.startsWith('-')) usage(`unknown flag ${argument}`);
    else parsed.names.push(argument);
  }
  return parsed;
}

function isSuite(value: unknown): value is BenchSuite {
  const candidate = value as BenchSuite | undefined;
  return typeof candidate?.name === 'string' && typeof candidate.run === 'function';
}

async function discoverSuites(): Promise<BenchSuite[]> {
  const files = readdirSync(suitesFolder)
    .filter((file) => file.endsWith('.js'))
    .sort();
  const suites: BenchSuite[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(path.join(suitesFolder, file)).href)) as { suite?: unknown };
    // Modules without a suite are helpers shared by suites (cluster-common).
    if (isSuite(module.suite)) suites.push(module.suite);
  }
  return suites;
}

async function runSuite(suite: BenchSuite, options: Arguments): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const n = options.n ?? suite.defaults?.n ?? DEFAULT_N;
  const rounds = options.rounds ?? suite.defaults?.rounds ?? DEFAULT_ROUNDS;
  console.log(`\n== ${suite.name}: ${suite.description}`);
  console.log(`   n=${n} rounds=${rounds}`);
  const context: BenchContext = {
    n,
    rounds,
    log: (line) =>
      console.log(`   [${suite.name} ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}`),
  };
  const rows: BenchRow[] = await suite.run(context);
  const seconds = (performance.now() - started) / 1000;
  console.log(`\n${formatRows(rows)}\n   (${seconds.toFixed(1)} s)`);
  mkdirSync(resultsFolder, { recursive: true });
  const file = path.join(resultsFolder, `${suite.name}-${startedAt.toISOString().replaceAll(':', '-')}.json`);
  const machine = {
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
  };
  writeFileSync(
    file,
    `${JSON.stringify({ suite: suite.name, description: suite.description, startedAt, seconds, n, rounds, machine, rows }, null, 2)}\n`,
  );
  console.log(`   wrote ${path.relative(process.cwd(), file)}`);
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const suites = await discoverSuites();
  if (options.list) {
    for (const suite of suites) console.log(`${suite.name.padEnd(16)} ${suite.description}`);
    return;
  }
  const unknown = options.names.filter((name) => !suites.some((suite) => suite.name === name));
  if (unknown.length > 0)
    usage(`unknown suite ${unknown.join(', ')} (known: ${suites.map((suite) => suite.name).join(', ')})`);
  const chosen =
    options.names.length > 0 ? suites.filter((suite) => options.names.includes(suite.name)) : suites;
  let failed = false;
  for (const suite of chosen) {
    try {
      await runSuite(suite, options);
    } catch (error) {
      failed = true;
      console.error(`\n${suite.name} failed: ${(error as Error).stack ?? String(error)}`);
    }
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
// A suite that leaves a client or timer behind must not keep the run from ending.
process.exit(process.exitCode ?? 0);
