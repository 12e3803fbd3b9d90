/**
 * `tasq jobs`: a page of a queue's jobs, by state and task. A thin shell over core's `Administration`
 * API (parse, call, print); no queue logic lives here, the dashboard calls the same API. The other job
 * administration commands: `tasq job` (command-job.ts), `tasq dead` (command-dead.ts).
 */
import {
  Administration,
  JOB_STATES,
  type JobPage,
  type JobState,
  UnsupportedOperationError,
} from '@tasq/core';
import {
  type CommandIo,
  commonHelp,
  openClient,
  parse,
  positiveInteger,
  readConfig,
  withClient,
} from './common.js';
import { adminExitCodesHelp, UsageError } from './errors.js';
import { describeStatus, printPage } from './job-format.js';

const LISTABLE_STATES = JOB_STATES.filter((state) => state !== 'unknown');

function checkState(state: string | undefined): JobState | undefined {
  if (state === undefined) return undefined;
  if (!(LISTABLE_STATES as readonly string[]).includes(state)) {
    throw new UsageError(`--state must be one of ${LISTABLE_STATES.join(', ')}; got "${state}"`);
  }
  return state as JobState;
}

export const jobsHelp = `Usage: tasq jobs [options]

List the jobs of a queue, newest first, a page at a time. Without --state: the jobs waiting and running
(queued, scheduled, retrying, running); finished ones with --state succeeded|failed|cancelled|expired|dead.

Options:
  -q, --queue Q        the queue (default: the configured queue)
  -s, --state S        ${LISTABLE_STATES.join(', ')}
  -t, --task NAME      only jobs of this task
  -l, --limit N        jobs per page, 1 to 1000 (default 50)
      --cursor C       the next page: the cursor the previous page printed
      --json           print {"jobs": [...], "next": cursor} as JSON
${adminExitCodesHelp}
${commonHelp}`;

export async function jobsCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    queue: { type: 'string', short: 'q' },
    state: { type: 'string', short: 's' },
    task: { type: 'string', short: 't' },
    limit: { type: 'string', short: 'l' },
    cursor: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(jobsHelp);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument "${positionals[0]}" (see tasq jobs --help)`);
  const state = checkState(values.state);
  const limit = positiveInteger(values.limit, '--limit');
  if (limit !== undefined && limit > 1000) throw new UsageError(`--limit must be at most 1000, got ${limit}`);
  const config = await readConfig(values, io);
  const queue = values.queue ?? config.queue;
  return withClient(openClient(config, io), async (tasq) => {
    const admin = Administration.of(tasq);
    let page: JobPage;
    try {
      page = await admin.jobs({
        queue,
        ...(state ? { state } : {}),
        ...(values.task !== undefined ? { task: values.task } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(values.cursor !== undefined ? { cursor: values.cursor } : {}),
      });
    } catch (error) {
      if (!(error instanceof UnsupportedOperationError)) throw error;
      // A broker that cannot browse its queues still counts them: say so, and show the counts.
      const status = await admin.queueStatus(queue);
      if (values.json) {
        io.out(JSON.stringify({ jobs: null, unsupported: error.message, counts: status }));
      } else {
        io.out(`${error.message}.`);
        io.out(`${queue}: ${describeStatus(status)}`);
        io.out('Look a job up by id with "tasq job show ID".');
      }
      return 0;
    }
    printPage(
      io,
      page,
      values.json === true,
      `no ${state ?? 'waiting or running'} jobs on queue "${queue}"${values.task ? ` for task ${values.task}` : ''}`,
      (next) =>
        `more: tasq jobs --queue ${queue}${state ? ` --state ${state}` : ''}${values.task ? ` --task ${values.task}` : ''}${limit !== undefined ? ` --limit ${limit}` : ''} --cursor ${next}`,
    );
    return 0;
  });
}
