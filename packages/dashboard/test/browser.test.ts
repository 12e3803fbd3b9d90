/**
 * The dashboard used as a person uses it, in real Chromium, against a real cluster on SQLite: sign in
 * (a wrong password refused, repeated failures limited), a viewer sees no action, an operator purges a
 * queue after typing its name, the overview lists the running cluster and its throughput rises while
 * jobs run, schedules are added, run, paused and removed, the pool grows; jobs are listed, filtered,
 * shown with their arguments hidden and cancelled; a dead job is requeued and runs; a paused queue keeps
 * its jobs until it is resumed.
 */
import type { ClusterHandle } from '@tasq/cluster';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Administration, Tasq } from '@tasq/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDashboard, startDashboard } from '../src/index.js';
import { chromiumMissing, launchChromium, screenshot } from './browser.js';
import {
  deleteRedisPrefix,
  eventually,
  OPERATOR_PASSWORD,
  redisUrl,
  requireRedis,
  runCluster,
  sleep,
  testDeployment,
  VIEWER_PASSWORD,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const missing = chromiumMissing();
const redisSkip = missing === undefined ? await requireRedis() : undefined;

describe.skipIf(missing !== undefined)(
  `dashboard in Chromium${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    const deployment = testDeployment();
    let tasq: Tasq;
    let cluster: ClusterHandle;
    let dashboard: RunningDashboard;
    let browser: Browser;

    beforeAll(async () => {
      tasq = await Tasq.open(deployment.config);
      cluster = await runCluster(deployment.config);
      dashboard = await startDashboard(deployment.config, { host: '127.0.0.1', port: 0 });
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await dashboard?.close();
      await cluster?.stop({ timeoutMs: 5_000 });
      await tasq?.close();
      deployment.cleanup();
    });

    const contexts: BrowserContext[] = [];
    async function newContext(): Promise<BrowserContext> {
      const context = await browser.newContext();
      contexts.push(context);
      return context;
    }
    afterEach(async () => {
      for (const context of contexts.splice(0)) await context.close();
    });

    async function signIn(password: string, url = dashboard.url): Promise<Page> {
      const page = await (await newContext()).newPage();
      await page.goto(url);
      // By keyboard: focus the password field (autofocus needs a focused window, which a headless page
      // among several may not be), type, press Enter.
      await page.getByLabel('Password').focus();
      await page.keyboard.type(password);
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => !u.pathname.endsWith('/login'));
      return page;
    }

    it('refuses a wrong password, then limits repeated failures', async () => {
      const limited = await startDashboard(deployment.config, {
        host: '127.0.0.1',
        port: 0,
        loginLimit: { maxFailures: 2, windowMs: 60_000 },
      });
      try {
        const page = await (await newContext()).newPage();
        await page.goto(limited.url);
        expect(new URL(page.url()).pathname).toBe('/login');
        await screenshot(page, 'login');
        await page.getByLabel('Password').fill('wrong-password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await expect.poll(() => page.getByRole('alert').textContent()).toBe('Wrong password.');
        await page.getByLabel('Password').fill('wrong-again');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByLabel('Password').fill(OPERATOR_PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Too many failed sign-ins/);
        expect(new URL(page.url()).pathname).toBe('/login');
        const overview = await page.request.get(new URL('/', limited.url).href, { maxRedirects: 0 });
        expect(overview.status()).toBe(303);
      } finally {
        await limited.close();
      }
    });

    it('shows the running cluster on the overview, and throughput rises while jobs run', async () => {
      const page = await signIn(OPERATOR_PASSWORD);
      const row = page.locator('#clusters tbody tr', { hasText: 'default' });
      await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
      const cells = await row.locator('td').allTextContents();
      expect(cells[1]).toBe(String(process.pid));
      expect(cells[3]).toBe('1');
      expect(cells[4]).toBe(deployment.queue);
      expect(await row.locator('td').last().textContent()).toBe('running');
      const finished = async () => Number(await page.locator('[data-live="finished60s"]').textContent());
      const before = await finished();
      await runtimeServicesOf(tasq).send(
        Array.from({ length: 300 }, () =>
          runtimeServicesOf(tasq).buildPackage({ name: 'dash.work', args: [20] }, {}),
        ),
      );
      // Read the page, as a person watching it would: the count climbs while the cluster works through them.
      const first = await eventually(
        async () => ((await finished()) > before ? finished() : undefined),
        60_000,
        'jobs finishing',
      );
      await eventually(async () => (await finished()) > first || undefined, 60_000, 'more jobs finishing');
      await eventually(
        async () => Number(await page.locator('[data-live="throughput"]').textContent()) > 0,
        30_000,
        'throughput',
      );
      await screenshot(page, 'overview');
    });

    it('lets a viewer read the pages but offers no action, and refuses one sent anyway', async () => {
      const page = await signIn(VIEWER_PASSWORD);
      await expect.poll(() => page.locator('.who').textContent()).toBe('signed in as viewer');
      await page.getByRole('link', { name: 'Queues' }).click();
      await expect.poll(() => page.locator(`tr[data-queue="${deployment.queue}"]`).count()).toBe(1);
      expect(await page.getByRole('button', { name: /Purge/ }).count()).toBe(0);
      await page.getByRole('link', { name: 'Clusters' }).click();
      expect(await page.getByRole('button', { name: /Grow pool|Stop cluster/ }).count()).toBe(0);
      const csrf = await page.locator('body').getAttribute('data-csrf');
      const status = await page.evaluate(
        async ({ queue, token }) => {
          const body = new URLSearchParams({ _csrf: token!, confirm: queue });
          return (await fetch(`/queues/${queue}/purge`, { method: 'POST', body })).status;
        },
        { queue: deployment.queue, token: csrf },
      );
      expect(status).toBe(403);
    });

    it('purges a queue only after the operator types its name', async () => {
      await runtimeServicesOf(tasq).send(
        [1, 2, 3].map((n) =>
          runtimeServicesOf(tasq).buildPackage({ name: 'dash.work', args: [n] }, { delay: '1h' }),
        ),
      );
      const page = await signIn(OPERATOR_PASSWORD);
      await page.getByRole('link', { name: 'Queues' }).click();
      const row = page.locator(`tr[data-queue="${deployment.queue}"]`);
      expect(await row.locator('td').nth(1).textContent()).toBe('3');
      await screenshot(page, 'queues');
      // The confirmation field is required: the button alone sends nothing.
      await page.getByRole('button', { name: `Purge queue ${deployment.queue}` }).click();
      expect(await row.locator('td').nth(1).textContent()).toBe('3');
      await page.getByLabel(`Type ${deployment.queue} to confirm purging it`).fill('wrong-name');
      await page.getByRole('button', { name: `Purge queue ${deployment.queue}` }).click();
      await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/type the queue name/);
      expect((await runtimeServicesOf(tasq).broker.size(deployment.queue)).delayed).toBe(3);
      await page.goBack();
      // By keyboard, as without a mouse: focus the field, type the name, Enter submits.
      await page.getByLabel(`Type ${deployment.queue} to confirm purging it`).focus();
      await page.keyboard.type(deployment.queue);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.getByRole('status').textContent()).toMatch(/3 job\(s\) removed/);
      expect(await page.locator(`tr[data-queue="${deployment.queue}"] td`).nth(1).textContent()).toBe('0');
      expect((await runtimeServicesOf(tasq).broker.size(deployment.queue)).delayed).toBe(0);
    });

    it('adds a schedule, runs it now, pauses and removes it', async () => {
      const page = await signIn(OPERATOR_PASSWORD);
      await page.getByRole('link', { name: 'Schedules' }).click();
      await page.getByLabel('Name').fill('nightly');
      await page.getByLabel('Task').fill('dash.work');
      await page.getByLabel('Arguments (JSON array)').fill('[5]');
      await page.getByLabel('Cron expression').fill('0 3 * * *');
      await page.getByRole('button', { name: 'Add schedule' }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toBe('added schedule nightly');
      const row = page.locator('tr[data-schedule="nightly"]');
      expect(await row.locator('td').nth(1).textContent()).toBe('cron 0 3 * * *');
      await screenshot(page, 'schedules');
      await page.getByRole('button', { name: 'Run schedule nightly now' }).click();
      const message = await page.getByRole('status').textContent();
      const jobId = /job (\S+)$/.exec(message ?? '')?.[1];
      expect(jobId).toBeDefined();
      expect(await tasq.job(jobId!, 'dash.work').result({ timeout: 30_000 })).toBe(5);
      await page.getByRole('button', { name: 'Pause schedule nightly' }).click();
      await expect.poll(() => row.locator('td').nth(6).textContent()).toBe('paused');
      expect((await (await runtimeServicesOf(tasq).schedules()).list())[0]!.paused).toBe(true);
      await page.getByRole('button', { name: 'Remove schedule nightly' }).click();
      await expect.poll(() => page.getByRole('status').textContent()).toBe('removed schedule nightly');
      expect(await (await runtimeServicesOf(tasq).schedules()).list()).toEqual([]);
    });

    it('shows each worker against its limits and grows the pool', async () => {
      const page = await signIn(OPERATOR_PASSWORD);
      await page.getByRole('link', { name: 'Clusters' }).click();
      const section = page.locator('section.cluster');
      await expect.poll(() => section.count()).toBe(1);
      expect(await section.locator('[data-field="pool"]').textContent()).toBe('1 × 4 (process)');
      const worker = section.locator('tbody tr').first();
      // Tasks done against the recycle limit the cluster resolved from its configuration, with separators.
      const recycle = tasq.config.recycle.toLocaleString('en-US');
      expect(recycle).toContain(',');
      expect(await worker.locator('td').nth(2).textContent()).toMatch(new RegExp(`^[\\d,]+ / ${recycle}$`));
      expect(await worker.locator('td').nth(3).textContent()).toMatch(/MB \/ no limit$/);
      await screenshot(page, 'clusters');
      const id = (await section.getAttribute('data-cluster'))!;
      await page.getByRole('button', { name: `Add a worker to ${id}` }).click();
      await expect
        .poll(() => page.getByRole('status').textContent())
        .toBe(`cluster ${id}: pool 1 -> 2 worker(s)`);
      await eventually(
        async () => {
          await page.reload();
          return (await page.locator('section.cluster tbody tr').count()) === 2 || undefined;
        },
        30_000,
        'a second worker',
      );
      expect(await page.locator('[data-field="pool"]').textContent()).toBe('2 × 4 (process)');
    });

    it('lists jobs by queue, state and task, shows one with its arguments hidden, and cancels it', async () => {
      const idle = `${deployment.queue}-idle`;
      const secret = 'card-4111-1111';
      const jobs = [];
      for (const n of [1, 2, 3])
        jobs.push(await tasq.enqueueByName('dash.echo', [{ card: secret, n }], { queue: idle }));
      await tasq.enqueueByName('dash.work', [1], { queue: idle });
      const page = await signIn(OPERATOR_PASSWORD);
      // Signed in, a bookmarked view opens as it was saved.
      await page.goto(new URL(`/jobs?queue=${idle}`, dashboard.url).href);
      await expect.poll(() => page.locator('table.jobs tbody tr').count()).toBe(4);
      // Filter by keyboard: pick the state, type the task, Enter submits; the URL keeps the view.
      await page.getByLabel('State').selectOption('queued');
      await page.getByLabel('Task').focus();
      await page.keyboard.type('dash.echo');
      await page.keyboard.press('Enter');
      await page.waitForURL(/task=dash\.echo/);
      expect(new URL(page.url()).searchParams.get('state')).toBe('queued');
      const rows = page.locator('table.jobs tbody tr');
      await expect.poll(() => rows.count()).toBe(3);
      expect(await rows.locator('th').allTextContents()).toEqual(jobs.map((job) => job.id).reverse());
      expect(await rows.first().locator('td').nth(1).textContent()).toBe('queued');
      await screenshot(page, 'jobs');

      const target = jobs[2]!;
      await page.getByRole('link', { name: target.id }).click();
      await expect.poll(() => page.locator('[data-field="state"]').textContent()).toBe('queued');
      expect(await page.locator('[data-field="task"]').textContent()).toBe('dash.echo');
      expect(await page.locator('[data-field="args-summary"]').textContent()).toMatch(/^array of 1, \d+ B$/);
      expect(await page.content()).not.toContain(secret);
      await screenshot(page, 'job');
      // The cancel needs its confirmation box ticked: the button alone changes nothing.
      await page.getByRole('button', { name: `Cancel job ${target.id}` }).click();
      expect(await page.locator('[data-field="state"]').textContent()).toBe('queued');
      await page.getByLabel(`Confirm: cancel job ${target.id}`).focus();
      await page.keyboard.press('Space');
      await page.getByRole('button', { name: `Cancel job ${target.id}` }).click();
      await expect
        .poll(() => page.getByRole('status').textContent())
        .toBe(`cancelled job ${target.id} before it started`);
      expect(await page.locator('[data-field="state"]').textContent()).toBe('cancelled');
      expect((await Administration.of(tasq).job(target.id)).state).toBe('cancelled');
      await screenshot(page, 'job-cancelled');
      await runtimeServicesOf(tasq).broker.purge(idle);
    });

    it('cancels a running job from its page: the task sees its signal abort and the job is stored as cancelled', async () => {
      const seen = path.join(deployment.folder, 'abort-reason');
      const job = await tasq.enqueueByName('dash.until-cancelled', [seen, 120_000]);
      const admin = Administration.of(tasq);
      await eventually(
        async () => (await admin.job(job.id)).state === 'running' || undefined,
        60_000,
        'the job running',
      );
      const page = await signIn(OPERATOR_PASSWORD);
      await page.goto(new URL(`/jobs/${job.id}`, dashboard.url).href);
      await expect.poll(() => page.locator('[data-field="state"]').textContent()).toBe('running');
      await page.getByLabel(`Confirm: cancel job ${job.id}`).check();
      await page.getByRole('button', { name: `Cancel job ${job.id}` }).click();
      await expect
        .poll(() => page.getByRole('status').textContent())
        // Pushed over pub/sub: the cluster running it answers that it is stopping it.
        .toBe(`job ${job.id} is marked cancelled; ${cluster.identity} is stopping it`);
      await eventually(
        async () => (await admin.job(job.id)).state === 'cancelled' || undefined,
        60_000,
        'the job stored as cancelled',
      );
      expect(readFileSync(seen, 'utf8')).toMatch(/cancelled/);
      await page.reload();
      expect(await page.locator('[data-field="state"]').textContent()).toBe('cancelled');
      await screenshot(page, 'job-cancelled-running');
    });

    it('requeues a dead job from the Dead letters page and sees it run', async () => {
      const flag = path.join(deployment.folder, 'browser-flag');
      const job = await tasq.enqueueByName('dash.until-flag', [flag], { maxAttempts: 1 });
      const admin = Administration.of(tasq);
      await eventually(
        async () => (await admin.job(job.id)).state === 'dead' || undefined,
        60_000,
        'a dead letter',
      );
      const page = await signIn(OPERATOR_PASSWORD);
      await page.getByRole('link', { name: 'Dead letters' }).click();
      const row = page.locator(`tr[data-job="${job.id}"]`);
      await expect.poll(() => row.count()).toBe(1);
      expect(await row.locator('td').nth(1).textContent()).toBe('dash.until-flag');
      expect(await row.locator('td').nth(2).textContent()).toMatch(/flag .* is not there yet/);
      await screenshot(page, 'dead-letters');
      writeFileSync(flag, 'now');
      await page.getByLabel(`Select dead letter ${job.id}`).check();
      await page.getByRole('button', { name: 'Requeue selected' }).click();
      await expect.poll(() => page.locator('.flash').textContent()).toBe('requeued 1 dead letter(s)');
      expect(await page.locator(`tr[data-job="${job.id}"]`).count()).toBe(0);
      await page.goto(new URL(`/jobs/${job.id}`, dashboard.url).href);
      await eventually(
        async () => {
          await page.reload();
          return (await page.locator('[data-field="state"]').textContent()) === 'succeeded' || undefined;
        },
        30_000,
        'the requeued job to succeed',
      );
      expect(await page.locator('[data-field="result-summary"]').textContent()).toBe('string, 19 B');
    });

    it('pauses a queue from the Queues page: enqueued jobs wait until it is resumed', async () => {
      const page = await signIn(OPERATOR_PASSWORD);
      await page.getByRole('link', { name: 'Queues' }).click();
      await page.getByRole('button', { name: `Pause queue ${deployment.queue}` }).click();
      const row = page.locator(`tr[data-queue="${deployment.queue}"]`);
      await expect.poll(() => row.locator('[data-field="paused"]').textContent()).toBe('paused');
      await screenshot(page, 'queues-paused');
      // The cluster reads the flags at most a second apart, and no reserve waits past its read's second.
      await sleep(1_500);
      const received = cluster.stats.received;
      const job = await tasq.enqueueByName('dash.work', [1]);
      await sleep(2_000);
      expect(cluster.stats.received).toBe(received);
      await page.goto(new URL(`/jobs?queue=${deployment.queue}&state=queued`, dashboard.url).href);
      expect(await page.locator(`tr[data-job="${job.id}"] td`).nth(1).textContent()).toBe('queued');
      await page.getByRole('link', { name: 'Queues' }).click();
      await page.getByRole('button', { name: `Resume queue ${deployment.queue}` }).click();
      await expect.poll(() => row.locator('[data-field="paused"]').textContent()).toBe('active');
      expect(await job.result({ timeout: 30_000 })).toBe(1);
    });

    it('shows a viewer the jobs but no action', async () => {
      const job = await tasq.enqueueByName('dash.work', [1], {
        queue: `${deployment.queue}-idle`,
        delay: '1h',
      });
      const page = await signIn(VIEWER_PASSWORD);
      await page.goto(new URL(`/jobs/${job.id}`, dashboard.url).href);
      await expect.poll(() => page.locator('[data-field="state"]').textContent()).toBe('scheduled');
      expect(await page.getByRole('button', { name: /Cancel job|Remove job|Retry job/ }).count()).toBe(0);
      await page.getByRole('link', { name: 'Dead letters' }).click();
      expect(await page.getByRole('button', { name: /Requeue|Delete|Purge/ }).count()).toBe(0);
      await runtimeServicesOf(tasq).broker.purge(`${deployment.queue}-idle`);
    });
  },
);

describe.skipIf(missing !== undefined || redisSkip !== undefined)(
  `dashboard of a Redis deployment in Chromium${redisSkip ? ` (skipped: ${redisSkip})` : ''}`,
  () => {
    const prefix = `tasq-dash-browser-${randomBytes(4).toString('hex')}`;
    const deployment = testDeployment({ redis: { url: redisUrl, prefix } });
    let tasq: Tasq;
    let cluster: ClusterHandle;
    let dashboard: RunningDashboard;
    let browser: Browser;

    beforeAll(async () => {
      tasq = await Tasq.open(deployment.config);
      cluster = await runCluster(deployment.config);
      dashboard = await startDashboard(deployment.config, { host: '127.0.0.1', port: 0 });
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await dashboard?.close();
      await cluster?.stop({ timeoutMs: 5_000 });
      await tasq?.close();
      deployment.cleanup();
      await deleteRedisPrefix(prefix);
    });

    it('shows the running cluster on the overview, and jobs finishing', async () => {
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        await page.goto(dashboard.url);
        await page.getByLabel('Password').fill(OPERATOR_PASSWORD);
        await page.getByRole('button', { name: 'Sign in' }).click();
        const row = page.locator('#clusters tbody tr', { hasText: 'default' });
        await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
        expect(await row.locator('td').nth(4).textContent()).toBe(deployment.queue);
        await runtimeServicesOf(tasq).send(
          Array.from({ length: 200 }, () =>
            runtimeServicesOf(tasq).buildPackage({ name: 'dash.work', args: [10] }, {}),
          ),
        );
        await eventually(
          async () =>
            Number(await page.locator('[data-live="finished60s"]').textContent()) >= 200 || undefined,
          60_000,
          'jobs finishing',
        );
        await screenshot(page, 'overview-redis');
      } finally {
        await context.close();
      }
    });
  },
);
