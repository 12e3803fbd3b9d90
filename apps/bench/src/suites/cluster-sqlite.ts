/**
 * End to end on the embedded default: a tasq cluster (sentinel + one worker process) on a SQLite file,
 * throughput at concurrency 1 and 50 and enqueue→start latency. The same harness as cluster-postgres,
 * so its rows sit beside the PostgreSQL ones.
 */
import type { BenchSuite } from '../harness.js';
import { endToEnd } from './cluster-postgres.js';

export const suite: BenchSuite = {
  name: 'cluster-sqlite',
  description:
    'tasq cluster end to end on the embedded SQLite default (throughput c=1/c=50, enqueue→start latency, worker RSS)',
  run: (context) =>
    endToEnd(
      context,
      'cluster-sqlite',
      'sqlite',
      [
        { system: 'tasq', concurrency: 1 },
        { system: 'tasq', concurrency: 50 },
        { system: 'tasq-defaults', concurrency: 1 },
        { system: 'tasq-defaults', concurrency: 50 },
        { system: 'tasq-no-results', concurrency: 50 },
        { system: 'tasq-recycle-500', concurrency: 50 },
      ],
      ['tasq'],
    ),
};
