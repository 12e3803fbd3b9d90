/**
 * The filters of the Jobs and Dead letters pages, read from the URL so a view can be bookmarked and
 * shared: queue, state, task, the page's cursor and the cursors of the pages before it (for "Previous":
 * the administration API pages forward only). Bad input is a 400 naming the field, before any read.
 */
import { JOB_STATES, type JobState } from '@tasq/core';
import { HttpError } from '../http/errors.js';

export interface ListQuery {
  queue: string;
  state?: JobState;
  task?: string;
  /** The `next` of the page before; absent on the first page. */
  cursor?: string;
  /** The cursors of the earlier pages, oldest first ('' = the first page). */
  trail: string[];
}

/** States a list can show: every state but `unknown` (no source knows such a job). */
export const LISTABLE_STATES = JOB_STATES.filter((state) => state !== 'unknown');

/** Earlier pages remembered for "Previous"; beyond this the oldest are forgotten (the URL stays short). */
const MAX_TRAIL = 50;
const NAME = /^[^\s]{1,200}$/;
const CURSOR = /^[\x21-\x7e]{1,300}$/;

export function readListQuery(params: URLSearchParams, defaultQueue: string, withState: boolean): ListQuery {
  const queue = nonEmpty(params.get('queue')) ?? defaultQueue;
  if (!NAME.test(queue)) throw new HttpError(400, 'queue must be a name of 1-200 characters without spaces');
  const query: ListQuery = { queue, trail: [] };
  const state = nonEmpty(params.get('state'));
  if (state !== undefined) {
    if (!withState) throw new HttpError(400, 'this list has no state filter: leave "state" out');
    if (!(LISTABLE_STATES as readonly string[]).includes(state))
      throw new HttpError(
        400,
        `unknown state ${JSON.stringify(state)}: use one of ${LISTABLE_STATES.join(', ')}`,
      );
    query.state = state as JobState;
  }
  const task = nonEmpty(params.get('task'));
  if (task !== undefined) {
    if (!NAME.test(task))
      throw new HttpError(400, 'task must be a task name of 1-200 characters without spaces');
    query.task = task;
  }
  const cursor = nonEmpty(params.get('cursor'));
  if (cursor !== undefined) query.cursor = checkCursor(cursor);
  query.trail = params
    .getAll('prev')
    .slice(-MAX_TRAIL)
    .map((value) => (value === '' ? '' : checkCursor(value)));
  return query;
}

function checkCursor(cursor: string): string {
  if (!CURSOR.test(cursor))
    throw new HttpError(400, 'the page cursor is malformed: follow the Next and Previous links of the list');
  return cursor;
}

function nonEmpty(value: string | null): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/** The URL search of a view: its filters, and the cursor and trail of one page. */
export function listSearch(
  query: Pick<ListQuery, 'queue' | 'state' | 'task'>,
  page: { cursor?: string | undefined; trail?: readonly string[] } = {},
): string {
  const params = new URLSearchParams({ queue: query.queue });
  if (query.state) params.set('state', query.state);
  if (query.task) params.set('task', query.task);
  for (const previous of page.trail ?? []) params.append('prev', previous);
  if (page.cursor) params.set('cursor', page.cursor);
  return `?${params}`;
}

/** The searches of the next and previous pages, when there are such pages. */
export function pagerLinks(query: ListQuery, next: string | undefined): { next?: string; previous?: string } {
  const links: { next?: string; previous?: string } = {};
  if (next !== undefined)
    links.next = listSearch(query, { cursor: next, trail: [...query.trail, query.cursor ?? ''] });
  if (query.cursor !== undefined) {
    const previous = query.trail.at(-1);
    links.previous = listSearch(query, {
      ...(previous ? { cursor: previous } : {}),
      trail: query.trail.slice(0, -1),
    });
  }
  return links;
}
