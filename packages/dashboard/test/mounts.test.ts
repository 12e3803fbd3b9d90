/**
 * The same handler mounted under /admin/tasq in Express, Fastify and Hono (on @hono/node-server), each
 * for real: sign in, a page, the live stream, and an action with its CSRF token all work under the path,
 * and nothing outside it is answered by the dashboard.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Tasq } from '@tasq/core';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, type Dashboard } from '../src/index.js';
import { Client, OPERATOR_PASSWORD, testDeployment } from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const BASE = '/admin/tasq';

interface Mounted {
  url: string;
  close(): Promise<void>;
}

const mounts: Record<string, (dashboard: Dashboard) => Promise<Mounted>> = {
  express: async (dashboard) => {
    const app = express();
    app.get('/', (_req, res) => {
      res.send('the application');
    });
    app.use(BASE, dashboard.handler);
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  },
  fastify: async (dashboard) => {
    const app = Fastify();
    app.get('/', async () => 'the application');
    await app.register(async (scope) => {
      // The dashboard reads its own request bodies: leave them unparsed in this scope.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      const handle = (request: { raw: never }, reply: { hijack(): void; raw: never }) => {
        reply.hijack();
        dashboard.handler(request.raw, reply.raw);
      };
      scope.all(BASE, handle as never);
      scope.all(`${BASE}/*`, handle as never);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      close: () => app.close(),
    };
  },
  hono: async (dashboard) => {
    const app = new Hono<{ Bindings: { incoming: never; outgoing: never } }>();
    app.get('/', (c) => c.text('the application'));
    app.all(`${BASE}/*`, (c) => {
      dashboard.handler(c.env.incoming, c.env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  },
};

describe.each(Object.keys(mounts))('mounted under %s', (framework) => {
  const deployment = testDeployment();
  let dashboard: Dashboard;
  let mounted: Mounted;
  let tasq: Tasq;

  beforeAll(async () => {
    tasq = await Tasq.open(deployment.config);
    dashboard = await createDashboard(deployment.config, { basePath: BASE });
    mounted = await mounts[framework]!(dashboard);
  });

  afterAll(async () => {
    await mounted?.close();
    await dashboard?.close();
    await tasq?.close();
    deployment.cleanup();
  });

  it('signs in, serves pages and the live stream, and acts under the path', async () => {
    const app = await fetch(`${mounted.url}/`);
    expect(await app.text()).toBe('the application');
    const client = new Client(`${mounted.url}${BASE}/`);
    const first = await client.request('GET', '/queues');
    expect(first.status).toBe(303);
    expect(first.headers.get('location')).toBe(`${BASE}/login`);
    const signIn = await client.request('POST', '/login', { form: { password: OPERATOR_PASSWORD } });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('location')).toBe(`${BASE}/`);
    expect(signIn.headers.get('set-cookie')).toContain(`Path=${BASE}`);
    const overview = await client.request('GET', '/');
    expect(overview.status).toBe(200);
    expect(overview.text).toContain(`href="${BASE}/queues"`);
    const script = await client.request('GET', '/static/dashboard.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');

    const api = await client.request('GET', '/api/overview');
    expect(api.status).toBe(200);
    expect(JSON.parse(api.text).deployment).toBe(deployment.config.name);

    await tasq.enqueueByName('dash.work', [1]);
    const csrf = await client.csrf();
    const purged = await client.request('POST', `/queues/${deployment.queue}/purge`, {
      form: { _csrf: csrf, confirm: deployment.queue },
    });
    expect(purged.status).toBe(303);
    expect(purged.headers.get('location')).toBe(`${BASE}/queues`);
    expect((await runtimeServicesOf(tasq).broker.size(deployment.queue)).ready).toBe(0);
    const json = await client.request('POST', '/schedules', {
      json: { _csrf: csrf, name: `${framework}-nightly`, task: 'dash.work', cron: '0 3 * * *' },
      headers: { accept: 'application/json' },
    });
    expect(json.status).toBe(200);
    expect(JSON.parse(json.text)).toEqual({ ok: true, message: `added schedule ${framework}-nightly` });
  });
});
