/**
 * Overview: the running clusters and the live charts. The server renders the current state; the page
 * script follows /api/live (one message a second) to redraw the numbers, the clusters and the charts.
 */
import { type Html, html } from '../html.js';
import type { ClusterSummary } from '../live/cluster-directory.js';
import type { LiveSummary } from '../live/live-feed.js';
import { formatDuration, formatTime } from './format.js';
import type { PageContext } from './layout.js';

export function overviewBody(
  _context: PageContext,
  state: { summary: LiveSummary; clusters: ClusterSummary[]; pubsub: boolean },
  now: number,
): Html {
  const { summary } = state;
  return html`<section aria-labelledby="rates-title">
<h2 id="rates-title">Now</h2>
<dl class="tiles">
  <div><dt>Throughput</dt><dd><span data-live="throughput">${summary.throughput}</span> jobs/s</dd></div>
  <div><dt>Failure rate (60 s)</dt><dd data-live="failureRate">${formatRate(summary.failureRate)}</dd></div>
  <div><dt>Finished (60 s)</dt><dd data-live="finished60s">${summary.finished60s}</dd></div>
  <div><dt>Wait p95</dt><dd data-live="waitP95">-</dd></div>
  <div><dt>Run p95</dt><dd data-live="runP95">-</dd></div>
</dl>
${
  state.pubsub
    ? ''
    : html`<p class="note">This broker has no pub/sub: rates come from the stats clusters store every few seconds, so they move in steps.</p>`
}
</section>
<section aria-labelledby="clusters-title">
<h2 id="clusters-title">Clusters</h2>
${clustersTable(state.clusters, now)}
</section>
<section aria-labelledby="charts-title" class="charts">
<h2 id="charts-title">Last 5 minutes</h2>
<figure><figcaption id="chart-throughput-title">Jobs finished per second</figcaption>
<div id="chart-throughput" class="chart" role="img" aria-labelledby="chart-throughput-title"></div></figure>
<figure><figcaption id="chart-latency-title">Wait and run time, ms (p50, p95)</figcaption>
<div id="chart-latency" class="chart" role="img" aria-labelledby="chart-latency-title"></div></figure>
<figure><figcaption id="chart-depth-title">Queue depth (ready and delayed jobs)</figcaption>
<div id="chart-depth" class="chart" role="img" aria-labelledby="chart-depth-title"></div></figure>
</section>`;
}

export function formatRate(rate: number | null): string {
  return rate === null ? '-' : `${(rate * 100).toFixed(1)} %`;
}

export function clustersTable(clusters: ClusterSummary[], now: number): Html {
  if (clusters.length === 0)
    return html`<p id="clusters" data-live="clusters" class="note">No cluster has reported yet. Start one with <code>tasq cluster</code>.</p>`;
  return html`<table id="clusters" data-live="clusters">
<thead><tr><th scope="col">Cluster</th><th scope="col">Host</th><th scope="col">PID</th><th scope="col">Uptime</th><th scope="col">Workers</th><th scope="col">Queues</th><th scope="col">Last heartbeat</th><th scope="col">State</th></tr></thead>
<tbody>${clusters.map(
    (c) => html`<tr data-cluster="${c.id}"${c.stale ? html` class="stale"` : ''}>
<th scope="row">${c.name}</th><td>${c.host}</td><td>${c.pid}</td>
<td>${c.startedAt !== undefined ? formatDuration(now - c.startedAt) : '-'}</td>
<td>${c.workers}</td><td>${c.queues.join(', ')}</td>
<td><time datetime="${new Date(c.lastHeartbeat).toISOString()}">${formatTime(c.lastHeartbeat)}</time> (${formatDuration(now - c.lastHeartbeat)} ago)</td>
<td>${c.offline ? 'offline' : c.stale ? 'stale: no heartbeat' : 'running'}</td></tr>`,
  )}</tbody></table>`;
}
