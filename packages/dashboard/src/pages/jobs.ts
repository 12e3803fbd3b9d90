/**
 * Jobs: a queue's jobs by state and task, newest first, a page at a time (filters in the URL). Where
 * the broker cannot list what waits in a queue (RabbitMQ, SQS), the page says so and shows the queue's
 * counts instead of an empty table that would read as "no jobs".
 */
import type { JobView, QueueStatus } from '@tasq/core';
import { type Html, html } from '../html.js';
import type { ListQuery } from '../jobs/list-query.js';
import { formatTime } from './format.js';
import type { PageContext } from './layout.js';
import { filterForm, pager } from './list-parts.js';

export type JobsListing =
  | { kind: 'page'; jobs: JobView[]; next?: string | undefined }
  | { kind: 'unlisted'; reason: string; status?: QueueStatus | undefined; statusError?: string };

export function jobsBody(
  context: PageContext,
  query: ListQuery,
  queues: readonly string[],
  listing: JobsListing,
): Html {
  const form = filterForm(context.base, '/jobs', query, queues, true);
  if (listing.kind === 'unlisted') return html`${form}${unlisted(query, listing)}`;
  const { jobs } = listing;
  const what = `${query.state ?? 'waiting and running'} jobs of queue ${query.queue}${query.task ? `, task ${query.task}` : ''}`;
  const table =
    jobs.length === 0
      ? html`<p class="note" role="status">No ${what}${query.cursor ? ' on this page' : ''}.</p>`
      : html`<table class="jobs">
<caption>${what}, newest first</caption>
<thead><tr><th scope="col">Job</th><th scope="col">Task</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Enqueued</th><th scope="col">Due / finished</th><th scope="col">Error</th></tr></thead>
<tbody>${jobs.map(
          (
            job,
          ) => html`<tr data-job="${job.id}"><th scope="row"><a href="${context.base}/jobs/${encodeURIComponent(job.id)}">${job.id}</a></th>
<td>${job.task ?? '-'}</td><td><span class="state state-${job.state}">${job.state}</span></td><td>${job.attempts ?? '-'}</td>
<td>${formatTime(job.enqueuedAt)}</td><td>${formatTime(job.finishedAt ?? job.dueAt)}</td>
<td class="error-text">${job.error ? `${job.error.name}: ${job.error.message}` : ''}</td></tr>`,
        )}</tbody></table>`;
  return html`${form}${table}${pager(context.base, '/jobs', query, listing.next)}`;
}

function unlisted(query: ListQuery, listing: Extract<JobsListing, { kind: 'unlisted' }>): Html {
  const { status } = listing;
  const count = (value: number | undefined) => (value === undefined ? 'not counted' : String(value));
  return html`<section class="notice" aria-labelledby="unlisted-title">
<h2 id="unlisted-title">This broker cannot list these jobs</h2>
<p>${listing.reason}. Finished jobs (succeeded, failed, cancelled, expired) are listed from the result backend: choose one of those states.</p>
${
  status
    ? html`<table class="counts"><caption>Queue ${query.queue} now</caption>
<tbody><tr><th scope="row">Ready</th><td data-count="ready">${status.ready}</td></tr>
<tr><th scope="row">Delayed</th><td data-count="delayed">${count(status.delayed)}</td></tr>
<tr><th scope="row">Reserved</th><td data-count="reserved">${count(status.reserved)}</td></tr>
<tr><th scope="row">Dead</th><td data-count="dead">${count(status.dead)}</td></tr></tbody></table>`
    : html`<p class="error">The queue's counts could not be read: ${listing.statusError}</p>`
}
</section>`;
}
