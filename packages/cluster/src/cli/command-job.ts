/**
 * `tasq job show|cancel|retry|remove ID`: one job at a time, through core's `Administration` API. A
 * cancel is also pushed to the running clusters where the deployment has pub/sub, so a running job
 * stops at once rather than when its cluster next reads the marks.
 */
import { Administration } from '@tasq/core';
import { liveHeldJobs } from '../monitoring/held-jobs.js';
import { pushCancel } from '../monitoring/push-cancel.js';
import { type CommandIo, commonHelp, openClient, parse, readConfig, withClient } from './common.js';
import { adminExitCodesHelp, UsageError } from './errors.js';
import { describeJob } from './job-format.js';

/** How long `tasq job` waits for live clusters to say which jobs they hold (brokers without lookup only). */
const CLUSTER_ANSWER_MS = 1_000;

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
  return withClient(openClient(config, io), async (tasq) => {
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
      const stoppedBy =
        outcome.outcome === 'cancelled'
          ? []
          : await pushCancel(config, id, reason, {
              cwd: io.cwd,
              onFailure: (error) =>
                process.stderr.write(
                  `tasq: telling the clusters at once failed (${error.message}); they will read the cancel mark\n`,
                ),
            });
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
