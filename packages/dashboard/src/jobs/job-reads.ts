/**
 * What the Jobs, job and Dead letters pages (and their JSON twins under /api) read, each through the
 * administration API. A list the broker cannot answer comes back as `unlisted` with the API's reason
 * (and, for live jobs, the queue's counts) instead of an error or an empty page.
 */
import { type JobView, UnknownJobError, UnsupportedOperationError } from '@tasq/core';
import type { Deployment } from '../deployment.js';
import type { DeadLetterListing } from '../pages/dead-letters.js';
import type { JobDetails } from '../pages/job.js';
import type { JobsListing } from '../pages/jobs.js';
import { answering, asHttpError } from './admin-errors.js';
import { checkJobId } from './job-actions.js';
import type { ListQuery } from './list-query.js';
import { describePayload } from './payload.js';

/** States read from the broker's queues (the rest come from the result backend or dead letters). */
const PAGE_SIZE = 50;
const LIVE_STATES = new Set([undefined, 'queued', 'scheduled', 'retrying', 'running']);

export async function readJobs(deployment: Deployment, query: ListQuery): Promise<JobsListing> {
  const { admin } = deployment;
  const support = admin.support();
  const cannot =
    LIVE_STATES.has(query.state) && !support.brokerCapabilities.browse
      ? `the ${support.broker} broker cannot list the jobs waiting or running in a queue`
      : query.state === 'dead' && !support.brokerCapabilities.deadLetters
        ? `the ${support.broker} broker keeps no dead letters to list`
        : undefined;
  if (cannot !== undefined) return unlisted(deployment, query.queue, cannot);
  try {
    const page = await admin.jobs({
      queue: query.queue,
      ...(query.state ? { state: query.state } : {}),
      ...(query.task ? { task: query.task } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
      limit: PAGE_SIZE,
    });
    return { kind: 'page', jobs: page.jobs.map(withoutPayloads), next: page.next };
  } catch (error) {
    if (error instanceof UnsupportedOperationError) return unlisted(deployment, query.queue, error.message);
    throw asHttpError(error);
  }
}

async function unlisted(deployment: Deployment, queue: string, reason: string): Promise<JobsListing> {
  try {
    return { kind: 'unlisted', reason, status: await deployment.admin.queueStatus(queue) };
  } catch (error) {
    return { kind: 'unlisted', reason, statusError: (error as Error).message };
  }
}

export async function readDeadLetters(deployment: Deployment, query: ListQuery): Promise<DeadLetterListing> {
  const { admin } = deployment;
  const support = admin.support();
  if (!support.brokerCapabilities.deadLetters)
    return {
      kind: 'unlisted',
      reason: `the ${support.broker} broker keeps no dead letters that can be listed`,
    };
  const page = await answering(() =>
    admin.deadLetters({
      queue: query.queue,
      ...(query.task ? { task: query.task } : {}),
      ...(query.cursor ? { cursor: query.cursor } : {}),
      limit: PAGE_SIZE,
    }),
  );
  return { kind: 'page', letters: page.jobs.map(withoutPayloads), next: page.next };
}

/** One job; a 404 naming the id when no source knows it. */
export async function readJob(deployment: Deployment, id: string): Promise<JobDetails> {
  checkJobId(id);
  const { admin } = deployment;
  const view = await answering(() => admin.job(id, { args: true, result: true }));
  if (view.state === 'unknown') {
    const support = admin.support();
    // On a broker that cannot look a package up (RabbitMQ, SQS), a job still waiting is unknown too.
    const detail = support.brokerCapabilities.lookup
      ? ''
      : ` (the ${support.broker} broker cannot look up a job still waiting in its queue)`;
    throw asHttpError(new UnknownJobError(id, detail));
  }
  const show = deployment.config.dashboard.showPayloads;
  const { args, result, ...rest } = view;
  return {
    view: rest,
    ...(args !== undefined ? { args: describePayload(args, show) } : {}),
    ...('result' in view && view.state === 'succeeded' ? { result: describePayload(result, show) } : {}),
    canRemove: admin.support().brokerCapabilities.remove,
  };
}

/** Lists never carry arguments or results (the API is not asked for them); this keeps it so. */
function withoutPayloads(view: JobView): JobView {
  const { args: _args, result: _result, ...rest } = view;
  return rest;
}
