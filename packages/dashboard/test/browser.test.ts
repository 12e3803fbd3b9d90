/**
 * The dashboard used as a person uses it, in real Chromium, against a real cluster on SQLite: sign in
 * (a wrong password refused, repeated failures limited), a viewer sees no action, an operator purges a
 * queue after typing its name, the overview lists the running cluster and its throughput rises while
 * jobs run, schedules are added, run, paused and removed, the pool grows.
 */
import type { ClusterHandle } from '@tasq/cluster';
import { Tasq } from '@tasq/core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDashboard, startDashboard } from '../src/index.js';
import { chromiumMissing, launchChromium, screenshot } from './browser.js';
import { eventually, OPERATOR_PASSWORD, runCluster, testDeployment, VIEWER_PASSWORD } from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const missing = chromiumMissing();

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
      expect(await worker.locator('td').nth(2).textContent()).toMatch(/^\d+ \/ 500$/);
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

    it('says the Jobs and Dead letters pages need job administration', async () => {
      const page = await signIn(OPERATOR_PASSWORD);
      await page.getByRole('link', { name: 'Jobs' }).click();
      await expect
        .poll(() => page.getByRole('heading', { level: 2 }).textContent())
        .toBe('Needs job administration');
      await screenshot(page, 'jobs');
      await page.getByRole('link', { name: 'Dead letters' }).click();
      expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Needs job administration');
    });
  },
);
