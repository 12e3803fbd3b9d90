/**
 * Queues: sizes by state, paused or not; pause and resume (where the broker keeps pause flags), and
 * purge behind a confirmation (type the queue's name).
 */
import type { QueueSizeRow } from '../deployment.js';
import { type Html, html } from '../html.js';
import { actionForm, type PageContext } from './layout.js';

export interface PauseFlags {
  /** The broker keeps pause flags. */
  supported: boolean;
  paused: ReadonlySet<string>;
}

export function queuesBody(
  context: PageContext,
  rows: QueueSizeRow[],
  brokerName: string,
  pause: PauseFlags,
): Html {
  const operator = context.session.role === 'operator';
  const cell = (value: number | undefined, what: string) =>
    value === undefined
      ? html`<td title="${brokerName} does not count ${what}">n/a</td>`
      : html`<td>${value}</td>`;
  return html`<table>
<caption>Jobs by state in each queue (broker ${brokerName})</caption>
<thead><tr><th scope="col">Queue</th><th scope="col">Ready</th><th scope="col">Delayed</th><th scope="col">Reserved</th><th scope="col">Dead</th><th scope="col">State</th>${
    operator ? html`<th scope="col">Pause</th><th scope="col">Purge</th>` : ''
  }</tr></thead>
<tbody>${rows.map(
    (row) =>
      html`<tr data-queue="${row.queue}"><th scope="row">${row.queue}</th>${
        row.size
          ? html`<td>${row.size.ready}</td>${cell(row.size.delayed, 'delayed jobs')}${cell(row.size.reserved, 'reserved jobs')}${cell(row.size.dead, 'dead letters')}`
          : html`<td colspan="4" class="error">size unavailable: ${row.error}</td>`
      }${stateCell(row.queue, brokerName, pause)}${operator ? pauseCell(context, row.queue, pause) : ''}${
        operator
          ? html`<td>${actionForm(context, `/queues/${encodeURIComponent(row.queue)}/purge`, 'Purge', {
              danger: true,
              accessibleLabel: `Purge queue ${row.queue}`,
              fields: html`<label class="confirm">Type <strong>${row.queue}</strong> to confirm
<input name="confirm" required autocomplete="off" aria-label="Type ${row.queue} to confirm purging it"></label>`,
            })}</td>`
          : ''
      }</tr>`,
  )}</tbody></table>
<p class="note">A paused queue still takes enqueues; clusters take no new jobs from it until it is resumed. Purge deletes every ready and delayed job of the queue; jobs running now finish.</p>`;
}

function stateCell(queue: string, brokerName: string, pause: PauseFlags): Html {
  if (!pause.supported) return html`<td title="${brokerName} keeps no pause flags">n/a</td>`;
  return pause.paused.has(queue)
    ? html`<td data-field="paused"><span class="state state-paused">paused</span></td>`
    : html`<td data-field="paused">active</td>`;
}

function pauseCell(context: PageContext, queue: string, pause: PauseFlags): Html {
  if (!pause.supported) return html`<td>-</td>`;
  const paused = pause.paused.has(queue);
  const verb = paused ? 'resume' : 'pause';
  return html`<td>${actionForm(
    context,
    `/queues/${encodeURIComponent(queue)}/${verb}`,
    paused ? 'Resume' : 'Pause',
    {
      accessibleLabel: `${paused ? 'Resume' : 'Pause'} queue ${queue}`,
    },
  )}</td>`;
}
