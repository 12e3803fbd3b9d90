/**
 * The dashboard's overview in headless Chromium (Debian's package, driven by playwright-core), first with
 * the deployment idle, then while a tasq cluster on Redis (sentinel + worker process, in a child process
 * of this module) drains no-op jobs as fast as it can, its backlog topped up in bulk. Per round and
 * phase, in one signed-in page:
 *
 * - time to first live render: navigation start → the first animation frame after the page applied the
 *   live feed's `history` message (numbers, clusters table, charts drawn); and the `load` event;
 * - over a 10 s window on the overview: server-sent messages/s and KB/s the page received (the feed is
 *   aggregated, so this should not grow with the jobs/s), and main-thread time in long tasks (> 50 ms);
 * - click → next page loaded: the Jobs link, then the Overview link (back to its first live render).
 *
 * The cluster's jobs/s over the window is reported beside them: on a shared 2-core machine it is far
 * from the 10,000 jobs/s a real deployment may run, and says how much load the page was under.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { TasqConfigInput } from '@tasq/core';
import type { Browser, Page } from 'playwright-core';
import { type BenchContext, type BenchRow, percentile } from '../harness.js';
import { deleteRedisKeys } from '../redis-cleanup.js';

const CHROMIUM = process.env.TASQ_BENCH_CHROMIUM ?? '/usr/bin/chromium';
const LOAD_VARIABLE = 'TASQ_BENCH_DASHBOARD_LOAD';
const thisFile = fileURLToPath(import.meta.url);
/** Jobs kept waiting ahead of the cluster, so it never runs dry. */
const BACKLOG = 20_000;
const RENDERS = 10;
const CLICKS = 10;
const WINDOW_MS = 10_000;
const PASSWORD = 'bench-dashboard-password';

// ---------------------------------------------------------------- the load (child process)

interface LoadProgress {
  type: 'progress';
  succeeded: number;
  at: number;
}

async function runLoad(input: TasqConfigInput): Promise<void> {
  const { resolveConfig, Tasq } = await import('@tasq/core');
  const { startCluster } = await import('@tasq/cluster');
  const { e2eNoop } = await import('./cluster-common.js');
  const config = resolveConfig(input, { env: {} });
  const producer = await Tasq.open(config);
  let enqueued = 0;
  const batch = () => Array.from({ length: 1_000 }, (): [] => []);
  while (enqueued < BACKLOG) {
    await producer.enqueueMany(e2eNoop, batch());
    enqueued += 1_000;
  }
  const cluster = await startCluster(config, {});
  let topping = false;
  const timer = setInterval(() => {
    process.send?.({
      type: 'progress',
      succeeded: cluster.stats.succeeded,
      at: Date.now(),
    } satisfies LoadProgress);
    if (topping) return;
    topping = true;
    void (async () => {
      try {
        while (enqueued - cluster.stats.succeeded < BACKLOG) {
          await producer.enqueueMany(e2eNoop, batch());
          enqueued += 1_000;
        }
      } finally {
        topping = false;
      }
    })();
  }, 250);
  process.send?.({ type: 'ready' });
  process.on('message', (message: { type: string }) => {
    if (message.type !== 'stop') return;
    clearInterval(timer);
    void (async () => {
      await cluster.stop({ timeoutMs: 5_000 });
      await producer.close();
      process.exit(0);
    })();
  });
}

const loadSpec = process.env[LOAD_VARIABLE];
if (loadSpec !== undefined) {
  // The cluster's worker processes inherit the environment; they must only load their tasks module.
  delete process.env[LOAD_VARIABLE];
  await runLoad(JSON.parse(loadSpec) as TasqConfigInput);
}

/** A running load: the latest succeeded count, and stop. */
class Load {
  latest: LoadProgress = { type: 'progress', succeeded: 0, at: Date.now() };
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: LoadProgress) => {
      if (message.type === 'progress') this.latest = message;
    });
  }

  static start(input: TasqConfigInput): Promise<Load> {
    const child = fork(thisFile, [], {
      env: { ...process.env, [LOAD_VARIABLE]: JSON.stringify(input) },
      execArgv: ['--disable-warning=ExperimentalWarning'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('exit', (code) =>
        reject(new Error(`the load process exited with code ${code} before it was ready`)),
      );
      child.on('message', (message: { type: string }) => {
        if (message.type === 'ready') {
          child.removeAllListeners('exit');
          resolve(new Load(child));
        }
      });
    });
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- the page (this process)

/**
 * Counts what the page receives and when it first drew the live data; runs before the page's script.
 * Plain JavaScript (it runs in the page; this package compiles without the DOM's types).
 */
const INSTRUMENT_PAGE = `(() => {
  const bench = { messages: 0, bytes: 0, longTasks: 0, rendered: undefined };
  window.__bench = bench;
  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(url, init) {
      super(url, init);
      this.addEventListener('message', (event) => {
        bench.messages++;
        bench.bytes += event.data.length;
      });
      // Listeners run in order: the page's own history listener has drawn before this frame.
      this.addEventListener('history', () =>
        requestAnimationFrame(() => {
          if (bench.rendered === undefined) bench.rendered = performance.now();
        }),
      );
    }
  };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) bench.longTasks += entry.duration;
  }).observe({ type: 'longtask', buffered: true });
})();`;

interface Seen {
  messages: number;
  bytes: number;
  longTasks: number;
  rendered?: number;
}

async function firstRender(page: Page): Promise<number> {
  // Polled from here: waitForFunction with a string would need eval, which the page's CSP forbids.
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const rendered = (await page.evaluate('window.__bench.rendered')) as number | undefined;
    if (rendered !== undefined) return rendered;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the overview did not draw its live data within 30 s');
}

interface PhaseFigures {
  renderMs: number[];
  loadMs: number[];
  messagesPerSecond: number;
  kilobytesPerSecond: number;
  longTaskMsPerSecond: number;
  clickJobsMs: number[];
  clickOverviewMs: number[];
  jobsPerSecond?: number;
}

async function measurePhase(browser: Browser, url: string, load: Load | undefined): Promise<PhaseFigures> {
  const context = await browser.newContext();
  try {
    await context.addInitScript({ content: INSTRUMENT_PAGE });
    const page = await context.newPage();
    await page.goto(url);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => !u.pathname.endsWith('/login'));
    const renderMs: number[] = [];
    const loadMs: number[] = [];
    for (let i = 0; i < RENDERS; i++) {
      await page.goto(url, { waitUntil: 'load' });
      renderMs.push(await firstRender(page));
      loadMs.push(
        (await page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")) as number,
      );
    }
    await page.evaluate(
      'window.__bench.messages = 0; window.__bench.bytes = 0; window.__bench.longTasks = 0',
    );
    const before = load?.latest;
    await page.waitForTimeout(WINDOW_MS);
    const after = load?.latest;
    const seen = (await page.evaluate('({ ...window.__bench })')) as Seen;
    const seconds = WINDOW_MS / 1000;
    const clickJobsMs: number[] = [];
    const clickOverviewMs: number[] = [];
    for (let i = 0; i < CLICKS; i++) {
      let started = performance.now();
      await Promise.all([
        page.waitForURL((u) => u.pathname.endsWith('/jobs'), { waitUntil: 'load' }),
        page.click('nav a[href="/jobs"]'),
      ]);
      clickJobsMs.push(performance.now() - started);
      started = performance.now();
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/', { waitUntil: 'load' }),
        page.click('nav a[href="/"]'),
      ]);
      await firstRender(page);
      clickOverviewMs.push(performance.now() - started);
    }
    return {
      renderMs,
      loadMs,
      messagesPerSecond: seen.messages / seconds,
      kilobytesPerSecond: seen.bytes / 1024 / seconds,
      longTaskMsPerSecond: seen.longTasks / seconds,
      clickJobsMs,
      clickOverviewMs,
      ...(before && after && after.at > before.at
        ? { jobsPerSecond: (after.succeeded - before.succeeded) / ((after.at - before.at) / 1000) }
        : {}),
    };
  } finally {
    await context.close();
  }
}

export async function measureOverviewUnderLoad(context: BenchContext, redisUrl: string): Promise<BenchRow[]> {
  if (!existsSync(CHROMIUM)) {
    context.log(`Chromium is not installed at ${CHROMIUM}; the browser rows are left out`);
    return [];
  }
  const { resolveConfig } = await import('@tasq/core');
  const { startDashboard } = await import('@tasq/dashboard');
  const { chromium } = await import('playwright-core');
  const { TASKS_MODULE } = await import('./cluster-common.js');
  const id = randomBytes(4).toString('hex');
  const prefix = `bench-dash-load-${id}`;
  const concurrency = Number(process.env.TASQ_BENCH_DASHBOARD_CONCURRENCY ?? 50);
  const input: TasqConfigInput = {
    redis: { url: redisUrl, prefix },
    name: `bench-dash-${id}`,
    queue: `load-${id}`,
    secret: 'bench-secret',
    dashboard: { password: PASSWORD },
    tasks: [TASKS_MODULE],
    workers: Number(process.env.TASQ_BENCH_DASHBOARD_WORKERS ?? 1),
    concurrency,
    bulk: 100,
    queueLimit: concurrency * 4,
    recycle: 1_000_000,
  };
  const dashboard = await startDashboard(resolveConfig(input, { env: {} }), { host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const phases = { idle: [] as PhaseFigures[], load: [] as PhaseFigures[] };
  try {
    for (let round = 0; round < context.rounds; round++) {
      phases.idle.push(await measurePhase(browser, dashboard.url, undefined));
      context.log(`browser round ${round + 1}/${context.rounds}: idle measured; starting the cluster`);
      const load = await Load.start(input);
      try {
        // Let the cluster reach its pace and the feed see it.
        await new Promise((resolve) => setTimeout(resolve, 5_000));
        phases.load.push(await measurePhase(browser, dashboard.url, load));
      } finally {
        await load.stop();
      }
      context.log(
        `browser round ${round + 1}/${context.rounds}: under load ${Math.round(phases.load.at(-1)!.jobsPerSecond ?? 0)} jobs/s`,
      );
    }
  } finally {
    await browser.close();
    await dashboard.close();
    await deleteRedisKeys(redisUrl, prefix);
  }
  const rows: BenchRow[] = [];
  const system = 'chromium, redis';
  const add = (metric: string, unit: string, values: number[]) =>
    rows.push({ suite: 'dashboard', system, metric, unit, values });
  for (const [phase, figures] of Object.entries(phases)) {
    const label = phase === 'idle' ? 'idle' : 'under load';
    add(
      `overview first live render p50, ${label}`,
      'ms',
      figures.map((f) => percentile(f.renderMs, 50)),
    );
    add(
      `overview load event p50, ${label}`,
      'ms',
      figures.map((f) => percentile(f.loadMs, 50)),
    );
    add(
      `SSE messages received, ${label}`,
      'msg/s',
      figures.map((f) => f.messagesPerSecond),
    );
    add(
      `SSE data received, ${label}`,
      'KB/s',
      figures.map((f) => f.kilobytesPerSecond),
    );
    add(
      `main thread in long tasks, ${label}`,
      'ms/s',
      figures.map((f) => f.longTaskMsPerSecond),
    );
    add(
      `click Jobs → loaded p50, ${label}`,
      'ms',
      figures.map((f) => percentile(f.clickJobsMs, 50)),
    );
    add(
      `click Overview → first live render p50, ${label}`,
      'ms',
      figures.map((f) => percentile(f.clickOverviewMs, 50)),
    );
  }
  add(
    `cluster throughput during the window (workers ${input.workers}, c ${concurrency})`,
    'jobs/s',
    phases.load.map((f) => f.jobsPerSecond ?? Number.NaN),
  );
  return rows;
}
