/** Queues: sizes by state, and purge behind a confirmation (type the queue's name). */
import type { QueueSizeRow } from '../deployment.js';
import { type Html, html } from '../html.js';
import { actionForm, type PageContext } from './layout.js';

export function queuesBody(context: PageContext, rows: QueueSizeRow[], brokerName: string): Html {
  const cell = (value: number | undefined, what: string) =>
    value === undefined
      ? html`<td title="${brokerName} does not count ${what}">n/a</td>`
      : html`<td>${value}</td>`;
  return html`<table>
<caption>Jobs by state in each queue (broker ${brokerName})</caption>
<thead><tr><th scope="col">Queue</th><th scope="col">Ready</th><th scope="col">Delayed</th><th scope="col">Reserved</th><th scope="col">Dead</th>${
    context.session.role === 'operator' ? html`<th scope="col">Purge</th>` : ''
  }</tr></thead>
<tbody>${rows.map(
    (row) =>
      html`<tr data-queue="${row.queue}"><th scope="row">${row.queue}</th>${
        row.size
          ? html`<td>${row.size.ready}</td>${cell(row.size.delayed, 'delayed jobs')}${cell(row.size.reserved, 'reserved jobs')}${cell(row.size.dead, 'dead letters')}`
          : html`<td colspan="4" class="error">size unavailable: ${row.error}</td>`
      }${
        context.session.role === 'operator'
          ? html`<td>${actionForm(context, `/queues/${encodeURIComponent(row.queue)}/purge`, 'Purge', {
              danger: true,
              accessibleLabel: `Purge queue ${row.queue}`,
              fields: html`<label class="confirm">Type <strong>${row.queue}</strong> to confirm
<input name="confirm" required autocomplete="off" aria-label="Type ${row.queue} to confirm purging it"></label>`,
            })}</td>`
          : ''
      }</tr>`,
  )}</tbody></table>
<p class="note">Purge deletes every ready and delayed job of the queue; jobs running now finish. Pause and resume: <code>tasq queue pause|resume QUEUE</code> (not on this page yet).</p>`;
}
