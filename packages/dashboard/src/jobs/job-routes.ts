/**
 * The routes of the Jobs, job and Dead letters pages, their JSON twins under /api, and the actions on
 * jobs, dead letters and queue pauses. The dashboard's request handler asks here first.
 */
import type { ServerResponse } from 'node:http';
import type { Deployment } from '../deployment.js';
import type { Fields } from '../http/body.js';
import { HttpError } from '../http/errors.js';
import { sendHtml, sendJson } from '../http/respond.js';
import { deadLettersBody } from '../pages/dead-letters.js';
import { jobBody } from '../pages/job.js';
import { jobsBody } from '../pages/jobs.js';
import { layout, type PageContext } from '../pages/layout.js';
import {
  type ActionOutcome,
  DEAD_LETTER_ACTIONS,
  type DeadLetterAction,
  deadLetterAction,
  JOB_ACTIONS,
  type JobAction,
  jobAction,
  pauseQueue,
} from './job-actions.js';
import { readDeadLetters, readJob, readJobs } from './job-reads.js';
import { readListQuery } from './list-query.js';

/** Answers a GET under /jobs, /dead-letters or their /api twins; false when the path is none of them. */
export async function showJobPages(
  deployment: Deployment,
  context: PageContext,
  res: ServerResponse,
  path: string,
  params: URLSearchParams,
  queues: () => string[],
): Promise<boolean> {
  const api = path.startsWith('/api/');
  const page = api ? path.slice('/api'.length) : path;
  const defaultQueue = deployment.config.queue;
  if (page === '/jobs') {
    const query = readListQuery(params, defaultQueue, true);
    const listing = await readJobs(deployment, query);
    if (api) sendJson(res, 200, { query, ...listing });
    else sendHtml(res, 200, layout(context, '/jobs', 'Jobs', jobsBody(context, query, queues(), listing)));
    return true;
  }
  if (page === '/dead-letters') {
    const query = readListQuery(params, defaultQueue, false);
    const listing = await readDeadLetters(deployment, query);
    if (api) sendJson(res, 200, { query, ...listing });
    else
      sendHtml(
        res,
        200,
        layout(context, '/dead-letters', 'Dead letters', deadLettersBody(context, query, queues(), listing)),
      );
    return true;
  }
  const match = /^\/jobs\/([^/]+)$/.exec(page);
  if (!match) return false;
  const details = await readJob(deployment, decodeSegment(match[1]!));
  if (api) sendJson(res, 200, details);
  else sendHtml(res, 200, layout(context, '/jobs', `Job ${details.view.id}`, jobBody(context, details)));
  return true;
}

export interface AdminActionRoute {
  /** For the event: `job.cancel`, `dead-letters.requeue`, `queue.pause`... */
  action: string;
  target: string;
  perform(deployment: Deployment, fields: Fields): Promise<ActionOutcome>;
}

/** The action a POST path names, or undefined when it is not one of these. */
export function adminActionRoute(path: string): AdminActionRoute | undefined {
  const job = /^\/jobs\/([^/]+)\/([a-z]+)$/.exec(path);
  if (job && (JOB_ACTIONS as readonly string[]).includes(job[2]!)) {
    const id = decodeSegment(job[1]!);
    const verb = job[2] as JobAction;
    return { action: `job.${verb}`, target: id, perform: (d, fields) => jobAction(d, id, verb, fields) };
  }
  const dead = /^\/dead-letters\/([a-z]+)$/.exec(path);
  if (dead && (DEAD_LETTER_ACTIONS as readonly string[]).includes(dead[1]!)) {
    const verb = dead[1] as DeadLetterAction;
    return {
      action: `dead-letters.${verb}`,
      target: '',
      perform: (d, fields) => deadLetterAction(d, verb, fields),
    };
  }
  const queue = /^\/queues\/([^/]+)\/(pause|resume)$/.exec(path);
  if (queue) {
    const name = decodeSegment(queue[1]!);
    const verb = queue[2] as 'pause' | 'resume';
    return { action: `queue.${verb}`, target: name, perform: (d) => pauseQueue(d, name, verb) };
  }
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'the name in the path is malformed');
  }
}
