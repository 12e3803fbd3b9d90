/**
 * One job: state, queue, task, attempts, timings, progress, result or error with its stack, its group
 * and chain, trace id; cancel, retry and remove for an operator where the job's state allows them.
 * Arguments and results show as type and size unless the configuration sets `dashboard.showPayloads`.
 */
import type { JobView } from '@tasq/core';
import { parseTraceparent } from '@tasq/core/internal';
import { type Html, html } from '../html.js';
import { type ShownPayload, summaryText } from '../jobs/payload.js';
import { formatTime } from './format.js';
import { actionForm, type PageContext } from './layout.js';

export interface JobDetails {
  view: JobView;
  args?: ShownPayload | undefined;
  result?: ShownPayload | undefined;
  /** The broker can take a waiting job out of its queue. */
  canRemove: boolean;
}

const WAITING = new Set(['queued', 'scheduled', 'retrying']);
const RETRYABLE = new Set(['failed', 'dead', 'cancelled', 'expired']);
const UNFINISHED = new Set(['queued', 'scheduled', 'retrying', 'running']);

/** The trace id inside a W3C traceparent ("00-<trace id>-<span id>-<flags>"), when it is a valid one. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent === undefined ? undefined : parseTraceparent(traceparent)?.traceId;
}

export function jobBody(context: PageContext, details: JobDetails): Html {
  const { view } = details;
  const fact = (label: string, value: unknown, field?: string) =>
    value === undefined || value === ''
      ? ''
      : html`<div><dt>${label}</dt><dd${field ? html` data-field="${field}"` : ''}>${value}</dd></div>`;
  const queueLink =
    view.queue === undefined
      ? undefined
      : html`<a href="${context.base}/jobs?queue=${encodeURIComponent(view.queue)}">${view.queue}</a>`;
  return html`<dl class="facts job">
${fact('State', html`<span class="state state-${view.state}">${view.state}</span>`, 'state')}
${fact('Queue', queueLink, 'queue')}
${fact('Task', view.task, 'task')}
${fact('Attempts', view.attempts === undefined ? undefined : `${view.attempts}${view.attempt !== undefined && view.attempt > 1 ? ` (retry run ${view.attempt})` : ''}`, 'attempts')}
${fact('Enqueued', view.enqueuedAt === undefined ? undefined : formatTime(view.enqueuedAt), 'enqueued')}
${fact('Due', view.dueAt === undefined ? undefined : formatTime(view.dueAt), 'due')}
${fact('Started', view.startedAt === undefined ? undefined : formatTime(view.startedAt), 'started')}
${fact('Finished', view.finishedAt === undefined ? undefined : formatTime(view.finishedAt), 'finished')}
${fact('Expires', view.expiresAt === undefined ? undefined : formatTime(view.expiresAt), 'expires')}
${fact('Dead since', view.deadAt === undefined ? undefined : formatTime(view.deadAt), 'dead-at')}
${fact('Dead because', view.deadReason, 'dead-reason')}
${fact('Group', view.group, 'group')}
${fact('Enqueued by job', view.parentId === undefined ? undefined : html`<a href="${context.base}/jobs/${encodeURIComponent(view.parentId)}">${view.parentId}</a>`, 'parent')}
${fact('Chain links after it', view.chain?.length ? view.chain.join(' → ') : undefined, 'chain')}
${fact('Trace id', traceIdOf(view.traceparent), 'trace')}
${fact('Progress', view.progress === undefined ? undefined : `${JSON.stringify(view.progress.value)} (at ${formatTime(view.progress.at)})`, 'progress')}
${fact('Cancel mark', view.cancelMark === undefined ? undefined : `${view.cancelMark.reason} (at ${formatTime(view.cancelMark.at)})`, 'cancel-mark')}
</dl>
${payloadSection('Arguments', 'args', details.args)}
${view.state === 'succeeded' ? payloadSection('Result', 'result', details.result) : ''}
${view.error ? errorSection(view) : ''}
${actions(context, details)}`;
}

function payloadSection(title: string, key: string, payload: ShownPayload | undefined): Html {
  if (!payload) return html``;
  return html`<section aria-labelledby="${key}-title" class="payload" data-payload="${key}">
<h2 id="${key}-title">${title}</h2>
${
  payload.json === undefined
    ? html`<p><span data-field="${key}-summary">${summaryText(payload)}</span> <span class="muted">(hidden: set <code>dashboard.showPayloads: true</code> in the configuration to show ${title.toLowerCase()})</span></p>`
    : html`<p class="muted" data-field="${key}-summary">${summaryText(payload)}</p><pre tabindex="0" aria-label="${title} as JSON">${payload.json}</pre>`
}
</section>`;
}

function errorSection(view: JobView): Html {
  const error = view.error!;
  return html`<section aria-labelledby="error-title" class="job-error">
<h2 id="error-title">${view.state === 'succeeded' ? 'Last error' : 'Error'}</h2>
<p data-field="error"><strong>${error.name}</strong>: ${error.message}</p>
${error.stack ? html`<pre tabindex="0" aria-label="Stack trace" data-field="stack">${error.stack}</pre>` : ''}
</section>`;
}

function actions(context: PageContext, details: JobDetails): Html {
  if (context.session.role !== 'operator') return html``;
  const { view } = details;
  const path = `/jobs/${encodeURIComponent(view.id)}`;
  const confirm = (what: string) =>
    html`<label class="confirm"><input type="checkbox" name="confirm" value="yes" required> Confirm: ${what}</label>`;
  const forms: Html[] = [];
  if (UNFINISHED.has(view.state))
    forms.push(
      actionForm(context, `${path}/cancel`, 'Cancel job', {
        danger: true,
        accessibleLabel: `Cancel job ${view.id}`,
        fields: confirm(`cancel job ${view.id}`),
      }),
    );
  if (RETRYABLE.has(view.state))
    forms.push(
      actionForm(context, `${path}/retry`, 'Retry job', { accessibleLabel: `Retry job ${view.id}` }),
    );
  if (WAITING.has(view.state) && details.canRemove)
    forms.push(
      actionForm(context, `${path}/remove`, 'Remove job', {
        danger: true,
        accessibleLabel: `Remove job ${view.id}`,
        fields: confirm(`remove job ${view.id} without storing an outcome`),
      }),
    );
  if (forms.length === 0) return html``;
  return html`<section aria-labelledby="actions-title" class="controls">
<h2 id="actions-title">Actions</h2>${forms}
</section>`;
}
