/** The `tasq` command line. Every command exits non-zero with a one-line reason on bad input. */
import { clusterCommand } from './command-cluster.js';
import { dashboardCommand } from './command-dashboard.js';
import { checkCommand } from './command-check.js';
import { enqueueCommand, resultCommand } from './command-enqueue.js';
import { infoCommand } from './command-info.js';
import { migrateCommand, queueCommand } from './command-queue.js';
import { deadCommand } from './command-dead.js';
import { jobCommand } from './command-job.js';
import { jobsCommand } from './command-jobs.js';
import { scheduleCommand } from './command-schedule.js';
import type { CommandIo } from './common.js';
import { monitorCommand } from './command-monitor.js';
import { controlCommand, eventsCommand } from './command-monitoring.js';
import { exitCodeOf, oneLine, UsageError } from './errors.js';

const commands: Record<string, (argv: string[], io: CommandIo) => Promise<number>> = {
  cluster: clusterCommand,
  enqueue: enqueueCommand,
  result: resultCommand,
  info: infoCommand,
  queue: queueCommand,
  migrate: migrateCommand,
  check: checkCommand,
  schedule: scheduleCommand,
  events: eventsCommand,
  monitor: monitorCommand,
  control: controlCommand,
  dashboard: dashboardCommand,
  jobs: jobsCommand,
  job: jobCommand,
  dead: deadCommand,
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
  const command = commands[name];
  try {
    if (!command)
      throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(commands).join(', ')})`);
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
