/**
 * Clusters and workers, the operator's queue page: each worker's pid, what it runs, tasks done against
 * `recycle`, memory against `maxRss`, the queues, `stopTimeout`; grow, shrink, restart and stop a
 * cluster through the signed remote control.
 */
import type { ClusterSnapshot, LiveClusters } from '@tasq/cluster';
import { type Html, html } from '../html.js';
import { formatBytes, formatCount, formatDuration } from './format.js';
import { actionForm, type PageContext } from './layout.js';

export function clustersBody(
  context: PageContext,
  live: LiveClusters,
  now: number,
  canControl: boolean,
): Html {
  if (live.clusters.length === 0)
    return html`<p class="note">No running cluster answered within ${live.withinMs} ms. Start one with <code>tasq cluster</code>.</p>`;
  return html`${
    canControl
      ? ''
      : html`<p class="note">This broker has no pub/sub: clusters are shown from the stats they store, and cannot be controlled from here.</p>`
  }${live.clusters.map((cluster) => clusterSection(context, cluster, now, canControl))}`;
}

function clusterSection(context: PageContext, c: ClusterSnapshot, now: number, canControl: boolean): Html {
  const limits = c.limits;
  const id = encodeURIComponent(c.cluster);
  const control = canControl && context.session.role === 'operator';
  return html`<section class="cluster" data-cluster="${c.cluster}" aria-label="Cluster ${c.cluster}">
<h2>${c.cluster}</h2>
<dl class="facts">
<div><dt>Uptime</dt><dd>${formatDuration(now - c.startedAt)}</dd></div>
<div><dt>Pool</dt><dd data-field="pool">${c.poolSize} × ${c.concurrency} (${limits?.pool ?? '-'})</dd></div>
<div><dt>Queues</dt><dd>${c.queues.join(', ')}</dd></div>
<div><dt>Running / prefetched</dt><dd>${c.running} / ${c.prefetched}</dd></div>
<div><dt>Succeeded / failed</dt><dd>${c.stats.succeeded} / ${c.stats.failed}</dd></div>
<div><dt>stopTimeout</dt><dd>${limits ? formatDuration(limits.stopTimeoutMs) : '-'}</dd></div>
<div><dt>timeout</dt><dd>${limits?.timeoutMs !== undefined ? formatDuration(limits.timeoutMs) : 'none'}</dd></div>
</dl>
${
  control
    ? html`<div class="controls">${actionForm(context, `/clusters/${id}/pool-grow`, 'Grow pool', {
        accessibleLabel: `Add a worker to ${c.cluster}`,
        fields: html`<input type="hidden" name="count" value="1">`,
      })}${actionForm(context, `/clusters/${id}/pool-shrink`, 'Shrink pool', {
        accessibleLabel: `Retire a worker of ${c.cluster}`,
        fields: html`<input type="hidden" name="count" value="1">`,
      })}${actionForm(context, `/clusters/${id}/restart`, 'Restart workers', {
        accessibleLabel: `Restart the workers of ${c.cluster}`,
      })}${actionForm(context, `/clusters/${id}/shutdown`, 'Stop cluster', {
        danger: true,
        accessibleLabel: `Stop cluster ${c.cluster}`,
      })}</div>`
    : ''
}
<table>
<caption>Workers of ${c.cluster}</caption>
<thead><tr><th scope="col">PID</th><th scope="col">State</th><th scope="col">Running</th><th scope="col">Tasks done / recycle</th><th scope="col">Memory / maxRss</th></tr></thead>
<tbody>${c.workers.map(
    (w) => html`<tr data-pid="${w.pid}"><th scope="row">${w.pid}</th><td>${w.state}</td>
<td>${w.jobs === undefined ? (w.busy > 0 ? `${w.busy} job(s)` : '-') : w.jobs.length === 0 ? '-' : w.jobs.map((j) => html`<div>${j.name} <code>${j.id}</code> (${j.queue})</div>`)}</td>
<td>${formatCount(w.tasksDone)} / ${formatCount(limits?.recycle)}</td>
<td>${formatBytes(w.rssBytes)} / ${limits?.maxRssBytes !== undefined ? formatBytes(limits.maxRssBytes) : 'no limit'}</td></tr>`,
  )}</tbody></table>
</section>`;
}
