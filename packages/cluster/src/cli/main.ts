/** The `tasq` command line. Every command exits non-zero with a one-line reason on bad input. */
import type { CommandIo } from './common.js';
import { exitCodeOf, oneLine, UsageError } from './errors.js';

type Command = (argv: string[], io: CommandIo) => Promise<number>;

/**
 * Each command's module, imported when that command runs: `tasq cluster` is a long-lived process, and
 * the other commands' modules (the monitor view, dead-letter pages, schedules...) would stay in its
 * memory for nothing (0.3 MiB of live heap; with prom-client and pino loaded on use too, `tasq --help`
 * loads 153 modules instead of 280).
 */
const commands: Record<string, () => Promise<Command>> = {
  cluster: async () => (await import('./command-cluster.js')).clusterCommand,
  enqueue: async () => (await import('./command-enqueue.js')).enqueueCommand,
  result: async () => (await import('./command-enqueue.js')).resultCommand,
  info: async () => (await import('./command-info.js')).infoCommand,
  queue: async () => (await import('./command-queue.js')).queueCommand,
  migrate: async () => (await import('./command-queue.js')).migrateCommand,
  check: async () => (await import('./command-check.js')).checkCommand,
  schedule: async () => (await import('./command-schedule.js')).scheduleCommand,
  events: async () => (await import('./command-monitoring.js')).eventsCommand,
  monitor: async () => (await import('./command-monitor.js')).monitorCommand,
  control: async () => (await import('./command-monitoring.js')).controlCommand,
  dashboard: async () => (await import('./command-dashboard.js')).dashboardCommand,
  jobs: async () => (await import('./command-jobs.js')).jobsCommand,
  job: async () => (await import('./command-job.js')).jobCommand,
  dead: async () => (await import('./command-dead.js')).deadCommand,
};

export const mainHelp = `Usage: tasq COMMAND [options]

Commands:
  cluster                      run a cluster (workers consuming the configured queues)
  enqueue NAME [ARGS_JSON]     enqueue a job; --wait prints its result
  result ID                    print a job's stored result
  info                         queues, sizes, recent successes and failures
  queue size|purge|pause|resume QUEUE
                               count, empty, pause or resume a queue
  jobs                         list a queue's jobs by state and task, newest first (--json)
  job show|cancel|retry|remove ID
                               one job: its state, or cancel, retry or remove it
  dead list|requeue|purge      dead letters: list, requeue with fresh attempts, delete
  migrate                      apply the broker's database migrations
  check                        validate the configuration and connect to the broker and backend
  schedule add|list|remove|pause|resume|run-now
                               periodic jobs: create, show (next run), pause, run one now
  events                       stream monitoring events from every cluster (--json)
  monitor                      live view: clusters, workers, queues, rates, recent failures
  control COMMAND              ping|stats|restart|shutdown|pool-grow N|pool-shrink N running clusters
  dashboard                    web dashboard: clusters, workers, live rates, queues, schedules

Run "tasq COMMAND --help" for a command's options.`;

export async function main(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp);
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  try {
    if (!load)
      throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(commands).join(', ')})`);
    const command = await load();
    return await command(rest, io);
  } catch (error) {
    process.stderr.write(`tasq: ${oneLine(error)}\n`);
    return exitCodeOf(error);
  }
}

const invokedDirectly =
  process.argv[1] !== undefined && /(?:tasq(?:\.js)?|cli[\\/]main\.js)$/.test(process.argv[1]);
if (invokedDirectly) {
  // `tasq info | head` closes the pipe early: stop writing, as a shell tool does, without a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`tasq: writing the output failed: ${error.message}\n`);
    process.exit(1);
  });
  const code = await main(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    cwd: process.cwd(),
    env: process.env,
  });
  process.exitCode = code;
  // Open handles (a pool's idle timer, a pending wait) must not keep a finished command alive.
  setTimeout(() => process.exit(code), 100).unref();
}
