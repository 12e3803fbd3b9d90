/**
 * `tasq dead list|requeue|purge`: the dead letters of a queue, through core's `Administration` API
 * (parse, call, print).
 */
import { Administration } from '@tasq/core';
import {
  type CommandIo,
  commonHelp,
  durationFlag,
  openClient,
  parse,
  positiveInteger,
  readConfig,
  withClient,
} from './common.js';
import { adminExitCodesHelp, UsageError } from './errors.js';
import { printPage } from './job-format.js';

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
  return withClient(openClient(config, io), async (tasq) => {
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
