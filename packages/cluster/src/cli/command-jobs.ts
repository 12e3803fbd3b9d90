/**
 * Job administration commands: `tasq jobs`, `tasq job show|cancel|retry|remove`, `tasq dead
 * list|requeue|purge`. Each is a thin shell over core's `Administration` API: parse, call, print. No
 * queue logic lives here (the dashboard calls the same API).
 */
import {
  Administration,
  JOB_STATES,
  type JobPage,
  type JobState,
  type JobView,
  type ResolvedConfig,
  CapabilityError,
  Tasq,
  UnsupportedOperationError,
} from '@tasq/core';
import { requestControl } from '../monitoring/control-client.js';
import {
  type CommandIo,
  commonHelp,
  durationFlag,
  formatTime,
  parse,
  positiveInteger,
  readConfig,
  withClient,
} from './common.js';
import { adminExitCodesHelp, UsageError } from './errors.js';
import { liveHeldJobs } from '../monitoring/held-jobs.js';

const open = (config: ResolvedConfig, io: CommandIo) => () => Tasq.open(config, { cwd: io.cwd });

/** How long `tasq job` waits for live clusters to say which jobs they hold (brokers without lookup only). */
const CLUSTER_ANSWER_MS = 1_000;

const LISTABLE_STATES = JOB_STATES.filter((state) => state !== 'unknown');

/** One line per job: id, state, task, queue, attempts, when it was enqueued, and why it died or failed. */
function jobLine(job: JobView): string {
  const why = job.deadReason ?? (job.error ? `${job.error.name}: ${job.error.message}` : '');
  return [
    job.id,
    job.state.padEnd(9),
    (job.task ?? '-').padEnd(20),
    (job.queue ?? '-').padEnd(12),
    `attempts ${job.attempts ?? '-'}`,
    formatTime(job.deadAt ?? job.finishedAt ?? job.enqueuedAt),
    why.replace(/\s*\n\s*/g, ' '),
  ]
    .join('  ')
    .trimEnd();
}

function printPage(
  io: CommandIo,
  page: JobPage,
  json: boolean,
  empty: string,
  more: (cursor: string) => string,
): void {
  if (json) {
    io.out(JSON.stringify({ jobs: page.jobs, ...(page.next ? { next: page.next } : {}) }));
    return;
  }
  if (page.jobs.length === 0) io.out(empty);
  for (const job of page.jobs) io.out(jobLine(job));
  if (page.next) io.out(more(page.next));
}

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
  return withClient(open(config, io), async (tasq) => {
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

export const jobHelp = `Usage: tasq job show|cancel|retry|remove ID [options]

  show ID      the job's state, queue, task, attempts, times, progress and error
               (RabbitMQ, SQS: a running job is answered by the live clusters, asked for up to 1 s)
  cancel ID    a waiting job never starts (stored as cancelled); a running one's ctx.signal aborts and,
               if it has not returned after the grace (timeout minus softTimeout, else 10 s), its
               worker is killed; either way it is stored as cancelled and its chain and hook do not run
  retry ID     run a failed, dead, cancelled or expired job again under the same id
  remove ID    take a waiting job out of its queue (nothing is stored)

Options:
      --args       show: include the job's arguments (where the package or the result holds them)
      --result     show: include the return value of a succeeded job
      --reason R   cancel: the reason stored with the cancel mark
      --json       print JSON
${adminExitCodesHelp}
${commonHelp}`;

export async function jobCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    args: { type: 'boolean' },
    result: { type: 'boolean' },
    reason: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(jobHelp);
    return 0;
  }
  const [action, id, extra] = positionals;
  const actions = ['show', 'cancel', 'retry', 'remove'];
  if (action === undefined || !actions.includes(action)) {
    throw new UsageError(
      `job needs one of ${actions.join(', ')}, got ${action === undefined ? 'nothing' : `"${action}"`}`,
    );
  }
  if (!id) throw new UsageError(`job ${action} needs a job ID`);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}" (one job ID at a time)`);
  const config = await readConfig(values, io);
  return withClient(open(config, io), async (tasq) => {
    // Where the broker cannot look a job up, the live clusters answer for the jobs they hold.
    const heldJobs = liveHeldJobs(tasq, { waitMs: CLUSTER_ANSWER_MS, cwd: io.cwd });
    const admin = Administration.of(tasq, { heldJobs });
    if (action === 'show') {
      const view = await admin.job(id, { args: values.args === true, result: values.result === true });
      const canLookUp = admin.support().brokerCapabilities.lookup;
      io.out(values.json ? JSON.stringify(view) : describeJob(view, canLookUp));
      return view.state === 'unknown' ? 3 : 0;
    }
    if (action === 'cancel') {
      const reason = values.reason ?? 'cancelled with tasq job cancel';
      const outcome = await admin.cancel(id, reason);
      // The mark is what every cluster checks; telling the running clusters now only makes it sooner.
      const stoppedBy = outcome.outcome === 'cancelled' ? [] : await pushCancel(config, io, id, reason);
      io.out(
        values.json
          ? JSON.stringify({ ...outcome, ...(stoppedBy.length > 0 ? { stoppedBy } : {}) })
          : outcome.outcome === 'cancelled'
            ? `${id}: cancelled (taken out of its queue before it started)`
            : stoppedBy.length > 0
              ? `${id}: marked cancelled; ${stoppedBy.join(', ')} is stopping it`
              : outcome.outcome === 'cancelling'
                ? `${id}: marked cancelled; the cluster running it stops it when it next reads the marks (within a second or so)`
                : `${id}: marked cancelled; no cluster that checks cancel marks will start it`,
      );
      return 0;
    }
    if (action === 'retry') {
      const outcome = await admin.retry(id);
      io.out(
        values.json
          ? JSON.stringify(outcome)
          : `${id}: ${outcome.from === 'dead-letter' ? 'requeued from the dead letters with fresh attempts' : 'enqueued again with its stored arguments'}`,
      );
      return 0;
    }
    await admin.remove(id);
    io.out(values.json ? JSON.stringify({ id, removed: true }) : `${id}: removed from its queue`);
    return 0;
  });
}

/** Ask the running clusters (over pub/sub, where the deployment has it) to stop the job now; who is. */
async function pushCancel(
  config: ResolvedConfig,
  io: CommandIo,
  jobId: string,
  reason: string,
): Promise<string[]> {
  try {
    const { replies } = await requestControl(config, {
      command: 'cancel-job',
      jobId,
      reason,
      timeoutMs: 1_000,
      cwd: io.cwd,
    });
    return replies
      .filter((reply) => reply.ok && reply.result?.stopping === true)
      .map((reply) => reply.cluster);
  } catch (error) {
    // No pub/sub, or it failed: the mark is set, and the clusters read it.
    if (!(error instanceof CapabilityError))
      process.stderr.write(
        `tasq: telling the clusters at once failed (${(error as Error).message}); they will read the cancel mark\n`,
      );
    return [];
  }
}

export const deadHelp = `Usage: tasq dead list|requeue|purge [options]

  list                        dead letters, newest first, with reason, attempts and last error
  requeue ID...               put these dead letters back on their queue with fresh attempts
  requeue --all               every dead letter of the queue (of --task only, when given)
  purge                       delete the dead letters of the queue (of --task only, when given)
  purge --older-than D        only those that died more than D ago (7d, 12h)
  purge --keep N              keep the newest N, delete the rest

Options:
  -q, --queue Q        the queue (default: the configured queue)
  -t, --task NAME      only dead letters of this task
  -l, --limit N        list: dead letters per page, 1 to 1000 (default 50)
      --cursor C       list: the next page
      --all            requeue: every dead letter of the queue
      --older-than D   purge: by age
      --keep N         purge: by count
      --json           print JSON
${adminExitCodesHelp}
${commonHelp}`;

export async function deadCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    queue: { type: 'string', short: 'q' },
    task: { type: 'string', short: 't' },
    limit: { type: 'string', short: 'l' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
    'older-than': { type: 'string' },
    keep: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(deadHelp);
    return 0;
  }
  const [action, ...ids] = positionals;
  if (action !== 'list' && action !== 'requeue' && action !== 'purge') {
    throw new UsageError(
      `dead needs list, requeue or purge, got ${action === undefined ? 'nothing' : `"${action}"`}`,
    );
  }
  if (action !== 'requeue' && ids.length > 0) throw new UsageError(`unexpected argument "${ids[0]}"`);
  if (action === 'requeue' && values.all === true && ids.length > 0) {
    throw new UsageError('dead requeue takes job IDs or --all, not both');
  }
  if (action === 'requeue' && values.all !== true && ids.length === 0) {
    throw new UsageError('dead requeue needs job IDs, or --all for every dead letter of the queue');
  }
  const limit = positiveInteger(values.limit, '--limit');
  if (limit !== undefined && limit > 1000) throw new UsageError(`--limit must be at most 1000, got ${limit}`);
  const olderThanMs = durationFlag(values['older-than'], '--older-than');
  const keep = values.keep === undefined ? undefined : Number(values.keep);
  if (values.keep !== undefined && (!/^\d+$/.test(values.keep) || !Number.isSafeInteger(keep))) {
    throw new UsageError(`--keep must be a whole number, got "${values.keep}"`);
  }
  const config = await readConfig(values, io);
  const queue = values.queue ?? config.queue;
  return withClient(open(config, io), async (tasq) => {
    const admin = Administration.of(tasq);
    if (action === 'list') {
      const page = await admin.deadLetters({
        queue,
        ...(values.task !== undefined ? { task: values.task } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(values.cursor !== undefined ? { cursor: values.cursor } : {}),
      });
      printPage(
        io,
        page,
        values.json === true,
        `no dead letters on queue "${queue}"${values.task ? ` for task ${values.task}` : ''}`,
        (next) =>
          `more: tasq dead list --queue ${queue}${values.task ? ` --task ${values.task}` : ''}${limit !== undefined ? ` --limit ${limit}` : ''} --cursor ${next}`,
      );
      return 0;
    }
    if (action === 'requeue') {
      if (values.all === true) {
        const requeued = await admin.requeueAllDead({
          queue,
          ...(values.task !== undefined ? { task: values.task } : {}),
        });
        io.out(
          values.json ? JSON.stringify({ requeued }) : `${queue}: requeued ${requeued.length} dead letter(s)`,
        );
        return 0;
      }
      const outcome = await admin.requeueDead(ids);
      if (values.json) io.out(JSON.stringify(outcome));
      else {
        for (const id of outcome.requeued) io.out(`${id}: requeued with fresh attempts`);
        for (const id of outcome.notDead)
          io.out(`${id}: not a dead letter (requeued already, or never dead)`);
      }
      // Some asked for were not dead letters: a distinct exit code, after doing the rest.
      return outcome.notDead.length > 0 ? 5 : 0;
    }
    const filter = { queue, ...(values.task !== undefined ? { task: values.task } : {}) };
    if (olderThanMs !== undefined || keep !== undefined) {
      if (values.task !== undefined)
        throw new UsageError('--older-than and --keep apply to the whole queue: drop --task');
      const removed = await admin.trimDeadLetters(queue, {
        ...(olderThanMs !== undefined ? { maxAgeMs: olderThanMs } : {}),
        ...(keep !== undefined ? { maxCount: keep } : {}),
      });
      io.out(
        values.json ? JSON.stringify({ queue, removed }) : `${queue}: deleted ${removed} dead letter(s)`,
      );
      return 0;
    }
    const removed = await admin.purgeDead(filter);
    io.out(values.json ? JSON.stringify({ queue, removed }) : `${queue}: deleted ${removed} dead letter(s)`);
    return 0;
  });
}

export function describeStatus(status: {
  ready: number;
  delayed?: number | undefined;
  reserved?: number | undefined;
  dead?: number | undefined;
  paused?: boolean | undefined;
}): string {
  return (
    `ready ${status.ready}  delayed ${status.delayed ?? '-'}  reserved ${status.reserved ?? '-'}  dead ${status.dead ?? '-'}` +
    (status.paused ? '  (paused)' : '')
  );
}

function describeJob(view: JobView, canLookUp: boolean): string {
  const rows: [string, string | number | undefined][] = [
    ['id', view.id],
    ['state', view.state],
    ['queue', view.queue],
    ['task', view.task],
    ['attempts', view.attempts],
    ['enqueued', view.enqueuedAt === undefined ? undefined : formatTime(view.enqueuedAt)],
    ['due', view.dueAt === undefined ? undefined : formatTime(view.dueAt)],
    ['expires', view.expiresAt === undefined ? undefined : formatTime(view.expiresAt)],
    ['started', view.startedAt === undefined ? undefined : formatTime(view.startedAt)],
    ['finished', view.finishedAt === undefined ? undefined : formatTime(view.finishedAt)],
    ['stopped', view.stoppedAt === undefined ? undefined : `${formatTime(view.stoppedAt)} (never started)`],
    ['died', view.deadAt === undefined ? undefined : `${formatTime(view.deadAt)}: ${view.deadReason ?? ''}`],
    ['group', view.group],
    [
      'held by',
      view.heldBy === undefined
        ? undefined
        : `cluster ${view.heldBy.cluster} (reported ${formatTime(view.heldBy.reportedAt)})`,
    ],
    ['progress', view.progress === undefined ? undefined : JSON.stringify(view.progress.value)],
    [
      'cancel',
      view.cancelMark === undefined
        ? undefined
        : `marked ${formatTime(view.cancelMark.at)}: ${view.cancelMark.reason}`,
    ],
    ['error', view.error === undefined ? undefined : `${view.error.name}: ${view.error.message}`],
    ['args', view.args === undefined ? undefined : JSON.stringify(view.args)],
    ['result', 'result' in view ? JSON.stringify(view.result) : undefined],
  ];
  const lines = rows
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key.padEnd(9)}${value}`);
  if (view.state === 'unknown') {
    lines.push(
      canLookUp
        ? 'no broker, result backend or cancel mark knows this job id (never enqueued, or its result expired)'
        : 'no result, live cluster or cancel mark knows this job id: this broker cannot look into its queues, so a job still waiting there is unknown too',
    );
  }
  return lines.join('\n');
}
