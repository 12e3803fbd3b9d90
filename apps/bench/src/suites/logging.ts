/**
 * The cluster's log line on the hot path: every finished task writes one `task succeeded` line at the
 * default level, and every received/started task asks the logger whether it is wanted. Each case runs in
 * a child process whose stderr is /dev/null (as under a process manager that discards or files it), so
 * the figure is the logger's own cost: formatting plus the write call.
 *
 * `BENCH_LOGGER_MODULE=/path/to/log.js` measures another `createLogger` (an older build) beside it.
 */
import { execFileSync } from 'node:child_process';
import type { BenchContext, BenchRow, BenchSuite } from '../harness.js';

const CHILD = `
const [moduleName, format, count] = process.argv.slice(1);
const { createLogger } = await import(moduleName);
const logger = createLogger({ format, level: 'info' });
const ref = { id: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', name: 'reports.build', queue: 'default', deliveries: 1 };
const n = Number(count);
for (let i = 0; i < 2000; i++) logger.event('task-succeeded', { ...ref, runtimeMs: i % 50 });
let started = performance.now();
for (let i = 0; i < n; i++) logger.event('task-succeeded', { ...ref, runtimeMs: i % 50 });
const written = n / ((performance.now() - started) / 1000);
started = performance.now();
for (let i = 0; i < n; i++) logger.event('task-started', { ...ref, workerId: 1 });
const filtered = n / ((performance.now() - started) / 1000);
process.stdout.write(JSON.stringify({ written, filtered }));
`;

function measure(moduleName: string, format: string, count: number): { written: number; filtered: number } {
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', CHILD, moduleName, format, String(count)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return JSON.parse(out) as { written: number; filtered: number };
}

async function run(context: BenchContext): Promise<BenchRow[]> {
  const systems: Array<[string, string]> = [['tasq', '@tasq/cluster']];
  const other = process.env.BENCH_LOGGER_MODULE;
  if (other) systems.push(['tasq (BENCH_LOGGER_MODULE)', other]);
  const rows: BenchRow[] = [];
  for (const [system, moduleName] of systems) {
    for (const format of ['json', 'text']) {
      const written: number[] = [];
      const filtered: number[] = [];
      for (let round = 0; round < context.rounds; round++) {
        const result = measure(moduleName, format, context.n);
        written.push(result.written);
        filtered.push(result.filtered);
        context.log(`${system} ${format} round ${round + 1}: ${Math.round(result.written)} lines/s`);
      }
      const base = { suite: 'logging', system, unit: 'ops/s' };
      rows.push({ ...base, metric: `${format}: task-succeeded line written`, values: written });
      rows.push({ ...base, metric: `${format}: task-started below the level`, values: filtered });
    }
  }
  return rows;
}

export const suite: BenchSuite = {
  name: 'logging',
  description: "the cluster logger's cost per task event (a written line; an event below the level)",
  run,
};
