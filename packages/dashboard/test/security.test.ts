/**
 * The security model over real HTTP against a real deployment (SQLite): nothing answers without a
 * session, wrong passwords are refused and rate limited, viewers cannot act, actions need the CSRF
 * token, bad input gets a 4xx naming the problem and changes nothing, and every action is an event.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { subscribeEvents } from '@tasq/cluster';
import { type DashboardActionEvent, Tasq } from '@tasq/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, type Dashboard, DashboardConfigError, startDashboard } from '../src/index.js';
import { Client, eventually, OPERATOR_PASSWORD, testDeployment, VIEWER_PASSWORD } from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

describe('dashboard security', () => {
  const deployment = testDeployment();
  let dashboard: Dashboard;
  let server: Server;
  let url: string;
  let tasq: Tasq;
  const actions: DashboardActionEvent[] = [];
  let stopEvents: () => Promise<void>;

  beforeAll(async () => {
    tasq = await Tasq.open(deployment.config);
    const events = await subscribeEvents(deployment.config, { types: ['dashboard-action'] });
    stopEvents = () => events.close();
    void (async () => {
      for await (const event of events) actions.push(event as DashboardActionEvent);
    })();
    dashboard = await createDashboard(deployment.config, {
      loginLimit: { maxFailures: 3, windowMs: 60_000 },
    });
    server = createServer(dashboard.handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await dashboard?.close();
    await stopEvents?.();
    await tasq?.close();
    deployment.cleanup();
  });

  it('refuses to start without a password, and without sign-in only on loopback', async () => {
    const open = testDeployment({ dashboard: {} });
    try {
      await expect(createDashboard(open.config)).rejects.toThrow(DashboardConfigError);
      await expect(createDashboard(open.config)).rejects.toThrow(/no password/);
      await expect(startDashboard(open.config, { noAuth: true, host: '0.0.0.0', port: 0 })).rejects.toThrow(
        /only on a loopback address/,
      );
      const running = await startDashboard(open.config, { noAuth: true, host: '127.0.0.1', port: 0 });
      try {
        const client = new Client(running.url);
        const page = await client.request('GET', '/queues');
        expect(page.status).toBe(200);
        expect(page.text).toContain('no sign-in (loopback)');
      } finally {
        await running.close();
      }
    } finally {
      open.cleanup();
    }
  });

  it('answers no page and no API without a session', async () => {
    const client = new Client(url);
    for (const page of [
      '/',
      '/queues',
      '/schedules',
      '/clusters',
      '/jobs',
      '/dead-letters',
      '/jobs/any-id',
    ]) {
      const answer = await client.request('GET', page);
      expect(answer.status, page).toBe(303);
      expect(answer.headers.get('location')).toBe('/login');
    }
    for (const api of [
      '/api/overview',
      '/api/live',
      '/api/queues',
      '/api/schedules',
      '/api/clusters',
      '/api/jobs',
      '/api/jobs/any-id',
      '/api/dead-letters',
    ]) {
      const answer = await client.request('GET', api);
      expect(answer.status, api).toBe(401);
      expect(JSON.parse(answer.text).error).toBe('sign in first');
    }
    const post = await client.request('POST', `/queues/${deployment.queue}/purge`, {
      form: { confirm: deployment.queue },
    });
    expect(post.status).toBe(401);
    for (const action of [
      '/jobs/any-id/cancel',
      '/dead-letters/purge',
      `/queues/${deployment.queue}/pause`,
    ]) {
      const answer = await client.request('POST', action, {
        form: { confirm: 'yes', queue: deployment.queue },
      });
      expect(answer.status, action).toBe(401);
    }
  });

  it('signs in with HttpOnly SameSite=Strict cookies, refuses a wrong password and limits attempts', async () => {
    const client = new Client(url);
    const wrong = await client.request('POST', '/login', {
      form: { password: 'not-the-password' },
      headers: { 'x-forwarded-for': '1.2.3.4' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Wrong password.');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    await client.login('still-wrong');
    await client.login('wrong-again');
    // Three failures within the minute: even the right password waits now.
    const limited = await client.request('POST', '/login', { form: { password: OPERATOR_PASSWORD } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.text).toContain('Too many failed sign-ins');
  });

  it('lets a viewer read every page and refuses every action', async () => {
    const fresh = await startDashboard(deployment.config, { host: '127.0.0.1', port: 0 });
    try {
      const viewer = new Client(fresh.url);
      const signIn = await viewer.request('POST', '/login', { form: { password: VIEWER_PASSWORD } });
      expect(signIn.status).toBe(303);
      const cookie = signIn.headers.get('set-cookie')!;
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      for (const page of ['/', '/queues', '/schedules', '/clusters', '/jobs', '/dead-letters']) {
        const answer = await viewer.request('GET', page);
        expect(answer.status, page).toBe(200);
        expect(answer.text).toContain('signed in as viewer');
      }
      const queues = await viewer.request('GET', '/queues');
      expect(queues.text).not.toContain('>Purge</button>');
      await tasq.enqueueByName('dash.work', [1]);
      const csrf = await viewer.csrf();
      const refused = await viewer.request('POST', `/queues/${deployment.queue}/purge`, {
        form: { _csrf: csrf, confirm: deployment.queue },
      });
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('only an operator can do this');
      expect((await runtimeServicesOf(tasq).broker.size(deployment.queue)).ready).toBe(1);
      await eventually(() => actions.find((a) => a.action === 'queue.purge' && a.outcome === 'refused'));
      const event = actions.find((a) => a.action === 'queue.purge' && a.outcome === 'refused')!;
      expect(event).toMatchObject({ role: 'viewer', target: deployment.queue, detail: 'viewer role' });
    } finally {
      await fresh.close();
      await runtimeServicesOf(tasq).broker.purge(deployment.queue);
    }
  });

  it('refuses an action without the CSRF token and changes nothing', async () => {
    const fresh = await startDashboard(deployment.config, { host: '127.0.0.1', port: 0 });
    try {
      const operator = new Client(fresh.url);
      expect(await operator.login(OPERATOR_PASSWORD)).toBe(303);
      await tasq.enqueueByName('dash.work', [1]);
      const noToken = await operator.request('POST', `/queues/${deployment.queue}/purge`, {
        form: { confirm: deployment.queue },
      });
      expect(noToken.status).toBe(403);
      expect(noToken.text).toContain('CSRF token');
      const wrongToken = await operator.request('POST', `/queues/${deployment.queue}/purge`, {
        form: { confirm: deployment.queue, _csrf: 'forged' },
      });
      expect(wrongToken.status).toBe(403);
      expect((await runtimeServicesOf(tasq).broker.size(deployment.queue)).ready).toBe(1);

      // With the token and the confirmation, the purge happens and is recorded.
      const csrf = await operator.csrf();
      const unconfirmed = await operator.request('POST', `/queues/${deployment.queue}/purge`, {
        form: { _csrf: csrf, confirm: 'something else' },
      });
      expect(unconfirmed.status).toBe(400);
      expect(unconfirmed.text).toContain(`type the queue name`);
      expect((await runtimeServicesOf(tasq).broker.size(deployment.queue)).ready).toBe(1);
      const purged = await operator.request('POST', `/queues/${deployment.queue}/purge`, {
        form: { _csrf: csrf, confirm: deployment.queue },
      });
      expect(purged.status).toBe(303);
      expect((await runtimeServicesOf(tasq).broker.size(deployment.queue)).ready).toBe(0);
      const event = await eventually(() =>
        actions.find(
          (a) => a.action === 'queue.purge' && a.outcome === 'ok' && a.target === deployment.queue,
        ),
      );
      expect(event.role).toBe('operator');
      expect(event.detail).toContain('1 job(s) removed');
      expect(event.at).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      await fresh.close();
    }
  });

  it('answers bad input with a 4xx that names the problem', async () => {
    const fresh = await startDashboard(deployment.config, { host: '127.0.0.1', port: 0 });
    try {
      const operator = new Client(fresh.url);
      await operator.login(OPERATOR_PASSWORD);
      const csrf = await operator.csrf();
      const json = { accept: 'application/json' };
      const cases: [string, string, Record<string, string>, number, RegExp][] = [
        [
          'POST',
          '/queues/no-such-queue/purge',
          { confirm: 'no-such-queue' },
          404,
          /no queue named "no-such-queue"/,
        ],
        ['POST', '/schedules/no-such/pause', {}, 404, /no schedule named "no-such"/],
        ['POST', '/schedules', { name: 'bad cron', task: 'dash.work', cron: '* *' }, 400, /schedule name/],
        [
          'POST',
          '/schedules',
          { name: 'bad-cron', task: 'dash.work', cron: '61 * * * *' },
          400,
          /61|minute|cron/i,
        ],
        [
          'POST',
          '/schedules',
          { name: 'bad-args', task: 'dash.work', cron: '* * * * *', args: '[1,' },
          400,
          /not valid JSON/,
        ],
        ['POST', '/clusters/x@y:1/pool-grow', { count: 'lots' }, 400, /count must be a whole number/],
        ['POST', '/queues/x/explode', {}, 404, /no action/],
      ];
      for (const [method, pathname, form, status, message] of cases) {
        const answer = await operator.request(method, pathname, {
          form: { _csrf: csrf, ...form },
          headers: json,
        });
        expect(answer.status, pathname).toBe(status);
        expect(JSON.parse(answer.text).error, pathname).toMatch(message);
      }
      const big = await operator.request('POST', '/schedules', {
        body: `_csrf=${csrf}&name=${'x'.repeat(20_000)}`,
        headers: { ...json, 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(big.status).toBe(413);
      const wrongType = await operator.request('POST', '/schedules', {
        body: '<xml/>',
        headers: { ...json, 'content-type': 'application/xml' },
      });
      expect(wrongType.status).toBe(415);
      expect((await operator.request('GET', '/no-such-page')).status).toBe(404);
      const badState = await operator.request('GET', '/api/jobs?state=sleeping');
      expect(badState.status).toBe(400);
      expect(JSON.parse(badState.text).error).toMatch(/unknown state "sleeping"/);
      expect(
        await runtimeServicesOf(tasq)
          .schedules()
          .then((store) => store.list()),
      ).toEqual([]);
    } finally {
      await fresh.close();
    }
  });
});
