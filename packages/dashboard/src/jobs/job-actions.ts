/**
 * The operator's decisions about jobs, dead letters and queue pauses, each one call of the
 * administration API (`Deployment.admin`). Input is checked here first, so bad input changes nothing;
 * each returns what happened as a sentence, and the page to go back to.
 */
import { pushCancel } from '@tasq/cluster';
import { requireQueue } from '../actions.js';
import type { Deployment } from '../deployment.js';
import { type Fields, fieldList } from '../http/body.js';
import { HttpError } from '../http/errors.js';
import { answering } from './admin-errors.js';
import { listSearch } from './list-query.js';

export interface ActionOutcome {
  message: string;
  /** Where the browser goes next (path and search, under the dashboard's base). */
  page: string;
}

const JOB_ID = /^[^\s]{1,200}$/;
const NAME = /^[^\s]{1,200}$/;
/** Rows one request may name (a page of the list holds at most this many). */
const MAX_SELECTED = 1_000;

export function checkJobId(id: string): string {
  if (!JOB_ID.test(id)) throw new HttpError(400, 'a job id is 1-200 characters without spaces');
  return id;
}

export type JobAction = 'cancel' | 'retry' | 'remove';
export const JOB_ACTIONS: readonly JobAction[] = ['cancel', 'retry', 'remove'];

/** Cancel and remove need `confirm=yes` (the page's confirmation box), so a stray click changes nothing. */
export async function jobAction(
  deployment: Deployment,
  id: string,
  action: JobAction,
  fields: Fields,
): Promise<ActionOutcome> {
  checkJobId(id);
  if (action !== 'retry') requireConfirmation(fields, `${action} job ${id}`);
  const { admin } = deployment;
  const page = `/jobs/${encodeURIComponent(id)}`;
  switch (action) {
    case 'cancel': {
      const reason = 'cancelled from the dashboard';
      const { outcome } = await answering(() => admin.cancel(id, reason));
      if (outcome === 'cancelled') return { message: `cancelled job ${id} before it started`, page };
      // The mark is what every cluster checks; telling the running clusters now only makes it sooner.
      const stoppedBy = await pushCancel(deployment.config, id, reason, {
        ...(deployment.cwd !== undefined ? { cwd: deployment.cwd } : {}),
      });
      const said =
        stoppedBy.length > 0
          ? `job ${id} is marked cancelled; ${stoppedBy.join(', ')} is stopping it`
          : outcome === 'cancelling'
            ? `job ${id} is running: the cluster running it stops it when it next reads the marks (within a second or so)`
            : `job ${id} is marked cancelled: no cluster will start it`;
      return { message: said, page };
    }
    case 'retry': {
      const { from } = await answering(() => admin.retry(id));
      return {
        message:
          from === 'dead-letter'
            ? `requeued job ${id} from the dead letters with fresh attempts`
            : `enqueued job ${id} again with its stored arguments`,
        page,
      };
    }
    case 'remove': {
      const view = await answering(() => admin.job(id));
      await answering(() => admin.remove(id));
      return {
        message: `removed job ${id} from its queue`,
        page: `/jobs${listSearch({ queue: view.queue ?? deployment.config.queue })}`,
      };
    }
  }
}

export type DeadLetterAction = 'requeue' | 'delete' | 'purge';
export const DEAD_LETTER_ACTIONS: readonly DeadLetterAction[] = ['requeue', 'delete', 'purge'];

/**
 * Requeue the selected dead letters (`id`, repeated) or all of the filter (`all=yes`, with `queue` and
 * optionally `task`); delete the selected; purge the filter after `confirm` repeats the queue's name.
 */
export async function deadLetterAction(
  deployment: Deployment,
  action: DeadLetterAction,
  fields: Fields,
): Promise<ActionOutcome> {
  const queue = (fields.queue ?? '').trim() || deployment.config.queue;
  const task = (fields.task ?? '').trim() || undefined;
  if (!NAME.test(queue)) throw new HttpError(400, 'queue must be a name of 1-200 characters without spaces');
  if (task !== undefined && !NAME.test(task))
    throw new HttpError(400, 'task must be a task name of 1-200 characters without spaces');
  const filter = { queue, ...(task !== undefined ? { task } : {}) };
  const page = `/dead-letters${listSearch(filter)}`;
  const { admin } = deployment;
  const all = fields.all === 'yes';
  if (action === 'purge') {
    if (fields.confirm !== queue)
      throw new HttpError(400, `to purge, type the queue name "${queue}" in the confirmation field`);
    const removed = await answering(() => admin.purgeDead(filter));
    return { message: `deleted ${removed} dead letter(s) of ${describe(filter)}`, page };
  }
  if (action === 'requeue' && all) {
    const requeued = await answering(() => admin.requeueAllDead(filter));
    return { message: `requeued ${requeued.length} dead letter(s) of ${describe(filter)}`, page };
  }
  const ids = selected(fields);
  if (action === 'requeue') {
    const { requeued, notDead } = await answering(() => admin.requeueDead(ids));
    return {
      message: `requeued ${requeued.length} dead letter(s)${notDead.length > 0 ? `; not dead letters (any more): ${notDead.join(', ')}` : ''}`,
      page,
    };
  }
  requireConfirmation(fields, 'delete the selected dead letters');
  const deleted = await answering(() => admin.deleteDead(ids));
  const missed = ids.filter((id) => !deleted.includes(id));
  return {
    message: `deleted ${deleted.length} dead letter(s)${missed.length > 0 ? `; not dead letters (any more): ${missed.join(', ')}` : ''}`,
    page,
  };
}

function requireConfirmation(fields: Fields, what: string): void {
  if (fields.confirm !== 'yes' && fields.confirm !== 'true')
    throw new HttpError(400, `to ${what}, tick the confirmation box (field "confirm" = "yes")`);
}

function selected(fields: Fields): string[] {
  const ids = [...new Set(fieldList(fields, 'id'))];
  if (ids.length === 0) throw new HttpError(400, 'select at least one dead letter (the "id" field)');
  if (ids.length > MAX_SELECTED)
    throw new HttpError(400, `at most ${MAX_SELECTED} dead letters at once, got ${ids.length}`);
  return ids.map(checkJobId);
}

function describe(filter: { queue: string; task?: string }): string {
  return filter.task ? `queue ${filter.queue}, task ${filter.task}` : `queue ${filter.queue}`;
}

export type QueueAction = 'pause' | 'resume';

/** Pause or resume a queue of this deployment (a persisted flag every cluster reads). */
export async function pauseQueue(
  deployment: Deployment,
  queue: string,
  action: QueueAction,
): Promise<ActionOutcome> {
  if (!NAME.test(queue)) throw new HttpError(400, 'queue must be a name of 1-200 characters without spaces');
  await requireQueue(deployment, queue);
  const paused = action === 'pause';
  await answering(() => (paused ? deployment.admin.pause(queue) : deployment.admin.resume(queue)));
  return {
    message: paused
      ? `paused queue ${queue}: clusters take no new jobs from it (enqueues still succeed)`
      : `resumed queue ${queue}`,
    page: '/queues',
  };
}
