/**
 * The dashboard at scale, through its real HTTP handler with a signed-in session:
 *
 * - list pages: a queue of 1,000 jobs beside one of 50 × n (1,000,000 at the default --n) on SQLite,
 *   PostgreSQL and Redis, filled through the client's bulk enqueue. Timed: the Jobs page (HTML) and its
 *   /api/jobs twin, first page and a page from the middle of the queue (its cursor found by walking the
 *   administration API a thousand jobs at a time), and the Queues page's /api/queues (sizes). p50/p95 of
 *   the requests of each round, and the ratio big/small. A dead-letter page from a dead set of n/2 on
 *   SQLite (dead letters made through the broker's own reserve + dead path).
 * - the overview in headless Chromium while a cluster on Redis drains jobs as fast as it can (see
 *   dashboard-browser.ts).
 *
 * Each backend's data lives under names of its own (a SQLite file in a temporary folder, a PostgreSQL
 * schema, a Redis prefix) and is removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TasqConfigInput } from '@tasq/core';
import { type BenchContext, type BenchRow, type BenchSuite, percentile } from '../harness.js';
import { deleteRedisKeys } from '../redis-cleanup.js';
import { measureOverviewUnderLoad } from './dashboard-browser.js';

const POSTGRES_URL = process.env.TASQ_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TASQ_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PASSWORD = 'bench-dashboard-password';
const SMALL = 1_000;
/** Requests per page kind and round. */
const REQUESTS = 30;

type Backend = 'sqlite' | 'postgres' | 'redis';

interface Store {
  backend: Backend;
  input: TasqConfigInput;
  cleanup(): Promise<void>;
}

const unique = () => randomBytes(4).toString('hex');

async function openStore(backend: Backend): Promise<Store> {
  const id = unique();
  if (backend === 'sqlite') {
    const folder = mkdtempSync(path.join(tmpdir(), 'tasq-bench-dashboard-'));
    return {
      backend,
      input: { sqlite: path.join(folder, 'tasq.db') },
      cleanup: async () => rmSync(folder, { recursive: true, force: true }),
    };
  }
  if (backend === 'postgres') {
    const schema = `bench_dash_${id}`;
    return {
      backend,
      input: { postgres: { url: POSTGRES_URL, schema } },
      cleanup: () => sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
    };
  }
  const prefix = `bench-dash-${id}`;
  return {
    backend,
    input: { redis: { url: REDIS_URL, prefix } },
    cleanup: () => deleteRedisKeys(REDIS_URL, prefix),
  };
}

async function sql(statement: string): Promise<void> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function reachable(backend: Backend): Promise<string | undefined> {
  try {
    if (backend === 'postgres') await sql('SELECT 1');
    if (backend === 'redis') {
      const { Redis } = await import('ioredis');
      const client = new Redis(REDIS_URL, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      try {
        await client.connect();
        await client.ping();
      } finally {
        client.disconnect();
      }
    }
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A deployment's configuration on `store` whose own queue is `queue` (the Jobs and Queues pages' default). */
export function deploymentInput(store: Pick<Store, 'input'>, name: string, queue: string): TasqConfigInput {
  return {
    ...store.input,
    name,
    queue,
    secret: 'bench-secret',
    dashboard: { password: PASSWORD },
  };
}

/** Enqueue `count` no-op jobs on `queue` in bulk (1,000 a call, two calls in flight). */
async function fill(input: TasqConfigInput, count: number, log: (line: string) => void): Promise<void> {
  const { resolveConfig, Tasq } = await import('@tasq/core');
  const { e2eNoop } = await import('./cluster-common.js');
  const tasq = await Tasq.open(resolveConfig(input, { env: {} }));
  try {
    const started = performance.now();
    let done = 0;
    let nextLog = 100_000;
    const one = async (): Promise<void> => {
      while (done < count) {
        const size = Math.min(1_000, count - done);
        done += size;
        await tasq.enqueueMany(
          e2eNoop,
          Array.from({ length: size }, () => []),
        );
        if (done >= nextLog) {
          nextLog += 100_000;
          log(
            `  ${done.toLocaleString('en-US')} enqueued (${Math.round(done / ((performance.now() - started) / 1000)).toLocaleString('en-US')}/s)`,
          );
        }
      }
    };
    await Promise.all([one(), one()]);
  } finally {
    await tasq.close();
  }
}

/** A signed-in session on a running dashboard: GETs carry its cookie. */
export class Session {
  private cookie = '';
  constructor(readonly baseUrl: string) {}

  async login(): Promise<void> {
    const response = await fetch(new URL('login', this.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ password: PASSWORD }).toString(),
      redirect: 'manual',
    });
    const setCookie = response.headers.get('set-cookie');
    if (response.status !== 303 || !setCookie) throw new Error(`sign-in failed: ${response.status}`);
    this.cookie = setCookie.split(';')[0]!;
  }

  /** GET a path; the body is read whole (as a browser would), the status must be 200. */
  async get(pathname: string): Promise<string> {
    let response: Response;
    try {
      response = await this.fetch(pathname);
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      throw new Error(`GET ${pathname}: ${(error as Error).message}${cause ? ` (${String(cause)})` : ''}`);
    }
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET ${pathname}: ${response.status} ${text.slice(0, 200)}`);
    return text;
  }

  /** A reused connection the server reset is retried once on a new one (the time counts both). */
  private async fetch(pathname: string): Promise<Response> {
    const send = () => fetch(new URL(pathname, this.baseUrl), { headers: { cookie: this.cookie } });
    try {
      return await send();
    } catch (error) {
      if (!/ECONNRESET|other side closed/.test(String((error as { cause?: unknown }).cause))) throw error;
      return send();
    }
  }

  /** Milliseconds of each of `count` GETs of `pathname`, one at a time. */
  async time(pathname: string, count: number): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      await this.get(pathname);
      times.push(performance.now() - started);
    }
    return times;
  }
}

/** The cursor of the page that starts halfway through the queue, walked through the administration API. */
async function middleCursor(input: TasqConfigInput, queue: string, size: number): Promise<string> {
  const { Administration, resolveConfig, Tasq } = await import('@tasq/core');
  const tasq = await Tasq.open(resolveConfig(input, { env: {} }));
  try {
    const admin = Administration.of(tasq);
    let cursor: string | undefined;
    for (let seen = 0; seen < size / 2; ) {
      const limit = Math.min(1_000, size / 2 - seen);
      const page = await admin.jobs({ queue, limit, ...(cursor ? { cursor } : {}) });
      if (page.next === undefined)
        throw new Error(`the ${queue} list ended after ${seen + page.jobs.length} jobs`);
      cursor = page.next;
      seen += page.jobs.length;
    }
    return cursor!;
  } finally {
    await tasq.close();
  }
}

interface Target {
  label: string;
  input: TasqConfigInput;
  middle: string;
}

const PAGES: { metric: string; path: (target: Target) => string }[] = [
  { metric: 'Jobs page (HTML), first page', path: () => 'jobs' },
  { metric: 'Jobs page (HTML), middle page', path: (t) => `jobs?cursor=${encodeURIComponent(t.middle)}` },
  { metric: '/api/jobs, first page', path: () => 'api/jobs' },
  { metric: '/api/jobs, middle page', path: (t) => `api/jobs?cursor=${encodeURIComponent(t.middle)}` },
  { metric: '/api/queues (sizes)', path: () => 'api/queues' },
];

/**
 * p50 and p95 of REQUESTS GETs of each page kind, on a dashboard opened for this measurement alone: its
 * live feed counts its queue every 2 s, and another dashboard's feed in this process would weigh on
 * these requests.
 */
async function timePages(target: Target): Promise<{ p50: number; p95: number }[]> {
  const { resolveConfig } = await import('@tasq/core');
  const { startDashboard } = await import('@tasq/dashboard');
  const dashboard = await startDashboard(resolveConfig(target.input, { env: {} }), {
    host: '127.0.0.1',
    port: 0,
  });
  // A request queued behind a slow one must not find its connection closed for idleness (5 s).
  dashboard.server.keepAliveTimeout = 120_000;
  try {
    const session = new Session(dashboard.url);
    await session.login();
    // Warm: the first request of each kind loads modules and prepares statements.
    for (const page of PAGES) await session.get(page.path(target));
    const figures: { p50: number; p95: number }[] = [];
    for (const page of PAGES) {
      const times = await session.time(page.path(target), REQUESTS);
      figures.push({ p50: percentile(times, 50), p95: percentile(times, 95) });
    }
    return figures;
  } finally {
    await dashboard.close();
  }
}

async function listPages(backend: Backend, context: BenchContext, big: number): Promise<BenchRow[]> {
  const store = await openStore(backend);
  const name = `bench-dash-${unique()}`;
  try {
    const targets: Target[] = [];
    for (const size of [SMALL, big]) {
      const queue = `${size === SMALL ? 'small' : 'big'}-${unique()}`;
      // One deployment configuration per queue (same store), so its Queues page lists that queue alone.
      const input = deploymentInput(store, name, queue);
      const started = performance.now();
      context.log(`${backend}: filling ${queue} with ${size.toLocaleString('en-US')} jobs`);
      await fill(input, size, context.log);
      context.log(
        `${backend}: ${size.toLocaleString('en-US')} enqueued in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      const middle = await middleCursor(input, queue, size);
      context.log(`${backend}: the middle of ${queue} found`);
      targets.push({ label: size.toLocaleString('en-US'), input, middle });
    }
    // figures[target][page][round]
    const figures = targets.map(() => PAGES.map(() => [] as { p50: number; p95: number }[]));
    for (let round = 0; round < context.rounds; round++) {
      // Rounds interleaved: a burst of load on the shared machine lands on both sizes.
      for (const [index, target] of targets.entries()) {
        const measured = await timePages(target);
        for (const [page, figure] of measured.entries()) figures[index]![page]!.push(figure);
        context.log(
          `${backend} round ${round + 1}/${context.rounds}, ${target.label} jobs: p50 ${measured.map((f) => f.p50.toFixed(1)).join(' / ')} ms`,
        );
      }
    }
    const rows: BenchRow[] = [];
    const row = (metric: string, unit: string, values: number[]) =>
      rows.push({ suite: 'dashboard', system: backend, metric, unit, values });
    for (const [page, { metric }] of PAGES.entries()) {
      for (const [index, target] of targets.entries()) {
        const rounds = figures[index]![page]!;
        row(
          `${metric}, ${target.label} jobs, p50`,
          'ms',
          rounds.map((f) => f.p50),
        );
        row(
          `${metric}, ${target.label} jobs, p95`,
          'ms',
          rounds.map((f) => f.p95),
        );
      }
      const [small, large] = [figures[0]![page]!, figures[1]![page]!];
      row(
        `${metric}, p50 ratio ${targets[1]!.label}/${targets[0]!.label}`,
        '×',
        large.map((f, round) => f.p50 / small[round]!.p50),
      );
    }
    context.log(`${backend}: done`);
    return rows;
  } finally {
    await store.cleanup();
  }
}

/** Dead letters made through the broker: reserve, then `dead`, a thousand at a time. */
async function deadLetterPages(context: BenchContext, count: number): Promise<BenchRow[]> {
  const { resolveConfig, Tasq } = await import('@tasq/core');
  const { startDashboard } = await import('@tasq/dashboard');
  const store = await openStore('sqlite');
  const queue = `dead-${unique()}`;
  const input = deploymentInput(store, `bench-dash-${unique()}`, queue);
  try {
    await fill(input, count, context.log);
    const tasq = await Tasq.open(resolveConfig(input, { env: {} }));
    try {
      // Loaded here, as @tasq/core is: the suite's module is imported by processes that run no tasq.
      const { runtimeServicesOf } = await import('@tasq/core/internal');
      const broker = runtimeServicesOf(tasq).broker;
      const max = Math.min(1_000, broker.broker.capabilities.maxBatch);
      for (let moved = 0; moved < count; ) {
        const reserved = await broker.reserve(queue, { max, leaseMs: 600_000, waitMs: 0 });
        if (reserved.length === 0) break;
        await Promise.all(reserved.map((delivery) => broker.deadLetter(delivery, 'bench: dead on purpose')));
        moved += reserved.length;
      }
    } finally {
      await tasq.close();
    }
    const dashboard = await startDashboard(resolveConfig(input, { env: {} }), { host: '127.0.0.1', port: 0 });
    try {
      const session = new Session(dashboard.url);
      await session.login();
      await session.get('dead-letters');
      const p50: number[] = [];
      const p95: number[] = [];
      for (let round = 0; round < context.rounds; round++) {
        const times = await session.time('dead-letters', REQUESTS);
        p50.push(percentile(times, 50));
        p95.push(percentile(times, 95));
      }
      const label = `Dead letters page (HTML), ${count.toLocaleString('en-US')} dead`;
      return [
        { suite: 'dashboard', system: 'sqlite', metric: `${label}, p50`, unit: 'ms', values: p50 },
        { suite: 'dashboard', system: 'sqlite', metric: `${label}, p95`, unit: 'ms', values: p95 },
      ];
    } finally {
      await dashboard.close();
    }
  } finally {
    await store.cleanup();
  }
}

/** TASQ_BENCH_DASHBOARD_PARTS picks parts: "lists,dead,browser" (default all). */
function parts(): Set<string> {
  return new Set((process.env.TASQ_BENCH_DASHBOARD_PARTS ?? 'lists,dead,browser').split(','));
}

/** TASQ_BENCH_DASHBOARD_BACKENDS picks backends: "sqlite,postgres,redis" (default all). */
function backends(): Backend[] {
  const chosen = (process.env.TASQ_BENCH_DASHBOARD_BACKENDS ?? 'sqlite,postgres,redis').split(',');
  return (['sqlite', 'postgres', 'redis'] as const).filter((b) => chosen.includes(b));
}

export const suite: BenchSuite = {
  name: 'dashboard',
  description:
    'the dashboard over HTTP with a session: Jobs page and /api/jobs (first and middle page) and /api/queues from a queue of 1,000 and one of 50 × n jobs on SQLite, PostgreSQL and Redis; a dead-letter page; the overview in Chromium while a cluster on Redis runs',
  async run(context: BenchContext): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const chosen = parts();
    if (chosen.has('lists')) {
      for (const backend of backends()) {
        const problem = await reachable(backend);
        if (problem !== undefined) {
          context.log(`${backend}: unreachable (${problem}); its rows are left out`);
          continue;
        }
        rows.push(...(await listPages(backend, context, context.n * 50)));
      }
    }
    if (chosen.has('dead')) rows.push(...(await deadLetterPages(context, Math.max(1_000, context.n / 2))));
    if (chosen.has('browser')) {
      const problem = await reachable('redis');
      if (problem !== undefined)
        context.log(`redis: unreachable (${problem}); the browser rows are left out`);
      else rows.push(...(await measureOverviewUnderLoad(context, REDIS_URL)));
    }
    return rows;
  },
};
