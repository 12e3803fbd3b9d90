/**
 * Dead letters of a queue (optionally of one task), newest death first, with the reason, attempts and
 * last error; requeue one, the selected (checkboxes) or all of the filter; delete the selected; purge
 * the filter after typing the queue's name.
 */
import type { JobView } from '@tasq/core';
import { type Html, html } from '../html.js';
import type { ListQuery } from '../jobs/list-query.js';
import { formatTime } from './format.js';
import type { PageContext } from './layout.js';
import { filterForm, pager } from './list-parts.js';

export type DeadLetterListing =
  | { kind: 'page'; letters: JobView[]; next?: string | undefined }
  | { kind: 'unlisted'; reason: string };

export function deadLettersBody(
  context: PageContext,
  query: ListQuery,
  queues: readonly string[],
  listing: DeadLetterListing,
): Html {
  const form = filterForm(context.base, '/dead-letters', query, queues, false);
  if (listing.kind === 'unlisted')
    return html`${form}<section class="notice" aria-labelledby="unlisted-title">
<h2 id="unlisted-title">This broker keeps no dead letters to list</h2><p>${listing.reason}.</p></section>`;
  const { letters } = listing;
  const operator = context.session.role === 'operator';
  const what = `dead letters of queue ${query.queue}${query.task ? `, task ${query.task}` : ''}`;
  if (letters.length === 0)
    return html`${form}<p class="note" role="status">No ${what}${query.cursor ? ' on this page' : ''}.</p>${pager(context.base, '/dead-letters', query, listing.next)}`;
  const filterFields = html`<input type="hidden" name="queue" value="${query.queue}">${
    query.task ? html`<input type="hidden" name="task" value="${query.task}">` : ''
  }`;
  const table = html`<table class="dead-letters">
<caption>${what}, newest first</caption>
<thead><tr>${operator ? html`<th scope="col"><span class="visually-hidden">Select</span></th>` : ''}<th scope="col">Job</th><th scope="col">Task</th><th scope="col">Reason</th><th scope="col">Attempts</th><th scope="col">Last error</th><th scope="col">Died</th></tr></thead>
<tbody>${letters.map(
    (letter) => html`<tr data-job="${letter.id}">${
      operator
        ? html`<td><input type="checkbox" name="id" value="${letter.id}" aria-label="Select dead letter ${letter.id}"></td>`
        : ''
    }<th scope="row"><a href="${context.base}/jobs/${encodeURIComponent(letter.id)}">${letter.id}</a></th>
<td>${letter.task ?? '-'}</td><td>${letter.deadReason ?? '-'}</td><td>${letter.attempts ?? '-'}</td>
<td class="error-text">${letter.error ? `${letter.error.name}: ${letter.error.message}` : ''}</td><td>${formatTime(letter.deadAt)}</td></tr>`,
  )}</tbody></table>`;
  if (!operator) return html`${form}${table}${pager(context.base, '/dead-letters', query, listing.next)}`;
  const csrf = html`<input type="hidden" name="_csrf" value="${context.session.csrf}">`;
  const base = context.base;
  return html`${form}
<form method="post" action="${base}/dead-letters/requeue" class="selection">${csrf}${filterFields}
${table}
${pager(base, '/dead-letters', query, listing.next)}
<div class="controls">
<button type="submit">Requeue selected</button>
<label class="confirm"><input type="checkbox" name="confirm" value="yes"> Confirm deleting the selected</label>
<button type="submit" class="danger" formaction="${base}/dead-letters/delete">Delete selected</button>
</div>
</form>
<section aria-labelledby="bulk-title" class="controls bulk">
<h2 id="bulk-title">All ${what}</h2>
<form method="post" action="${base}/dead-letters/requeue" class="inline">${csrf}${filterFields}<input type="hidden" name="all" value="yes">
<button type="submit">Requeue all</button></form>
<form method="post" action="${base}/dead-letters/purge" class="inline">${csrf}${filterFields}
<label class="confirm">Type <strong>${query.queue}</strong> to confirm
<input name="confirm" required autocomplete="off" aria-label="Type ${query.queue} to confirm deleting its dead letters"></label>
<button type="submit" class="danger">Purge dead letters</button></form>
</section>`;
}
