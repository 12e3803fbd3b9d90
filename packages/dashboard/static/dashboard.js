// tasq dashboard page script: follows /api/live (one aggregated message a second) on the overview to
// redraw the numbers, the clusters table and three uPlot charts. Every other page works without it.
(() => {
  const base = document.body.dataset.base ?? '';
  const throughputEl = document.getElementById('chart-throughput');
  if (!throughputEl || typeof EventSource === 'undefined') return;

  const points = [];
  const KEEP = 300;
  const charts = {};
  let depthQueues = [];

  const text = (name, value) => {
    const el = document.querySelector(`[data-live="${name}"]`);
    if (el) el.textContent = value;
  };
  const ms = (value) => (value === null || value === undefined ? '-' : `${Math.round(value)} ms`);
  const rate = (value) => (value === null || value === undefined ? '-' : `${(value * 100).toFixed(1)} %`);
  const duration = (msValue) => {
    const s = Math.round(msValue / 1000);
    if (s < 60) return `${s} s`;
    const two = (big, bigUnit, small, smallUnit) =>
      small === 0 ? `${big} ${bigUnit}` : `${big} ${bigUnit} ${small} ${smallUnit}`;
    if (s < 3600) return two(Math.floor(s / 60), 'min', s % 60, 's');
    if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'min');
    return two(Math.floor(s / 86400), 'd', Math.floor((s % 86400) / 3600), 'h');
  };
  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const pad = (n) => String(n).padStart(2, '0');
  const clock = (seconds) => {
    const d = new Date(seconds * 1000);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };
  const cell = (tag, value) => {
    const el = document.createElement(tag);
    el.textContent = value;
    if (tag === 'th') el.scope = 'row';
    return el;
  };

  function chart(key, el, series) {
    if (typeof uPlot === 'undefined') return undefined;
    const width = Math.max(300, el.clientWidth || 600);
    const palette = ['#0b57d0', '#b3261e', '#1a7f37', '#8a5a00', '#6f42c1', '#0a7d8c', '#c2185b', '#5d4037'];
    const opts = {
      width,
      height: 200,
      series: [
        {},
        ...series.map((label, i) => ({
          label,
          stroke: palette[i % palette.length],
          width: 2,
          spanGaps: true,
        })),
      ],
      // Points are a second apart: ticks on whole seconds (or minutes), labelled as a clock reads.
      axes: [{ space: 70, incrs: TIME_STEPS, values: (_u, splits) => splits.map(clock) }, { size: 60 }],
      legend: { live: false },
      // Room on the right for the last time label.
      padding: [8, 32, 0, 0],
    };
    charts[key]?.destroy();
    el.textContent = '';
    charts[key] = new uPlot(opts, [[], ...series.map(() => [])], el);
    return charts[key];
  }

  function redraw() {
    const t = points.map((p) => p.t);
    if (!charts.throughput) chart('throughput', throughputEl, ['succeeded/s', 'failed/s']);
    if (!charts.latency)
      chart('latency', document.getElementById('chart-latency'), [
        'wait p50',
        'wait p95',
        'run p50',
        'run p95',
      ]);
    const queues = [...new Set(points.flatMap((p) => Object.keys(p.depth)))].sort();
    if (!charts.depth || queues.join() !== depthQueues.join()) {
      depthQueues = queues;
      chart('depth', document.getElementById('chart-depth'), queues.length ? queues : ['(no queue)']);
    }
    charts.throughput?.setData([t, points.map((p) => p.succeeded), points.map((p) => p.failed)]);
    charts.latency?.setData([
      t,
      points.map((p) => p.wait[0]),
      points.map((p) => p.wait[1]),
      points.map((p) => p.run[0]),
      points.map((p) => p.run[1]),
    ]);
    charts.depth?.setData([
      t,
      ...(depthQueues.length
        ? depthQueues.map((q) => points.map((p) => p.depth[q] ?? null))
        : [points.map(() => null)]),
    ]);
  }

  function showSummary(summary) {
    text('throughput', String(summary.throughput));
    text('failureRate', rate(summary.failureRate));
    text('finished60s', String(summary.finished60s));
    const last = [...points].reverse();
    text('waitP95', ms(last.find((p) => p.wait[1] !== null)?.wait[1]));
    text('runP95', ms(last.find((p) => p.run[1] !== null)?.run[1]));
  }

  function showClusters(clusters) {
    const old = document.querySelector('[data-live="clusters"]');
    if (!old) return;
    if (clusters.length === 0) return;
    const now = Date.now();
    const table = document.createElement('table');
    table.id = 'clusters';
    table.dataset.live = 'clusters';
    const head = table.createTHead().insertRow();
    for (const label of [
      'Cluster',
      'Host',
      'PID',
      'Uptime',
      'Workers',
      'Queues',
      'Last heartbeat',
      'State',
    ]) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = label;
      head.append(th);
    }
    const body = table.createTBody();
    for (const c of clusters) {
      const row = body.insertRow();
      row.dataset.cluster = c.id;
      if (c.stale) row.className = 'stale';
      row.append(
        cell('th', c.name),
        cell('td', c.host),
        cell('td', String(c.pid)),
        cell('td', c.startedAt === undefined ? '-' : duration(now - c.startedAt)),
        cell('td', String(c.workers)),
        cell('td', c.queues.join(', ')),
        cell(
          'td',
          `${new Date(c.lastHeartbeat).toISOString().replace('T', ' ').slice(0, 19)} UTC (${duration(now - c.lastHeartbeat)} ago)`,
        ),
        cell('td', c.offline ? 'offline' : c.stale ? 'stale: no heartbeat' : 'running'),
      );
    }
    old.replaceWith(table);
  }

  const source = new EventSource(`${base}/api/live`);
  source.addEventListener('history', (event) => {
    const history = JSON.parse(event.data);
    points.splice(0, points.length, ...history.points);
    redraw();
    showSummary(history.summary);
    showClusters(history.clusters);
  });
  source.onmessage = (event) => {
    const message = JSON.parse(event.data);
    points.push(message.point);
    if (points.length > KEEP) points.shift();
    redraw();
    showSummary(message.summary);
    showClusters(message.clusters);
  };
  window.addEventListener('resize', () => {
    for (const key of Object.keys(charts))
      charts[key].setSize({ width: Math.max(300, charts[key].root.parentElement.clientWidth), height: 200 });
  });
})();
