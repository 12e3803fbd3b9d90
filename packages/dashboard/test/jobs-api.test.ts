/**
 * The Jobs, job, Dead letters and queue-pause routes over real HTTP, against real deployments on SQLite
 * and on Redis: lists newest first with next/previous pages, a job with its payloads hidden (or shown
 * where the configuration allows), cancel, remove, retry, dead letters requeued (and run), deleted and
 * purged, queues paused and resumed; every bad input a 4xx that names the problem and changes nothing.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ClusterHandle } from '@tasq/cluster';
import { Administration, type DashboardActionEvent, type ResolvedConfig, Tasq } from '@tasq/core';
import { requireService } from '@tasq/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, type Dashboard } from '../src/index.js';
import {
  Client,
  deleteRedisPrefix,
  eventually,
  OPERATOR_PASSWORD,
  redisUrl,
  requireRedis,
  runCluster,
  type TestDeployment,
  testDeployment,
  VIEWER_PASSWORD,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const redisSkip = await requireRedis();
const rabbitUrl = process.env.TASQ_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const rabbitSkip = await requireService(
  'RabbitMQ at 127.0.0.1:5672',
  () => promisify(execFile)('rabbitmqctl', ['-q', 'status']),
  // rabbitmqctl starts an Erlang node of its own: seconds on a busy machine.
  { timeoutMs: 20_000 },
);
const redisPrefix = `tasq-dash-${randomBytes(4).toString('hex')}`;

const stores = [
  { label: 'SQLite', skip: undefined, make: () => testDeployment() },
  {
    label: 'Redis',
    skip: redisSkip,
    make: () => testDeployment({ redis: { url: redisUrl, prefix: redisPrefix } }),
  },
];

async function serve(
  config: ResolvedConfig,
  onAction?: (event: DashboardActionEvent) => void,
): Promise<{ dashboard: Dashboard; server: Server; url: string }> {
  const dashboard = await createDashboard(config, onAction ? { onAction } : {});
  const server = createServer(dashboard.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { dashboard, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

async function stop(running: { dashboard: Dashboard; server: Server } | undefined): Promise<void> {
  if (!running) return;
  running.server.closeAllConnections();
  await new Promise((resolve) => running.server.close(resolve));
  await running.dashboard.close();
}

for (const store of stores) {
  describe.skipIf(store.skip !== undefined)(
    `jobs routes on ${store.label}${store.skip ? ` (skipped: ${store.skip})` : ''}`,
    () => {
      let deployment: TestDeployment;
      let tasq: Tasq;
      let running: Awaited<ReturnType<typeof serve>>;
      let operator: Client;
      let viewer: Client;
      let csrf: string;
      const actions: DashboardActionEvent[] = [];
      // Jobs that wait: no cluster consumes this queue.
      let idle: string;
      const json = { accept: 'application/json' };

      beforeAll(async () => {
        deployment = store.make();
        idle = `${deployment.queue}-idle`;
        tasq = await Tasq.open(deployment.config);
        running = await serve(deployment.config, (event) => actions.push(event));
        operator = new Client(running.url);
        viewer = new Client(running.url);
        expect(await operator.login(OPERATOR_PASSWORD)).toBe(303);
        expect(await viewer.login(VIEWER_PASSWORD)).toBe(303);
        csrf = await operator.csrf();
      });

      afterAll(async () => {
        await stop(running);
        await tasq?.close();
        deployment?.cleanup();
        if (store.label === 'Redis') await deleteRedisPrefix(redisPrefix);
      });

      async function api(pathname: string, client = operator) {
        const answer = await client.request('GET', pathname, { headers: json });
        return { status: answer.status, body: JSON.parse(answer.text) };
      }

      async function post(pathname: string, form: Record<string, string>, client = operator) {
        const answer = await client.request('POST', pathname, { form, headers: json });
        return { status: answer.status, body: JSON.parse(answer.text) };
      }

      it('lists a queue newest first, by state and task, a page at a time forward and back', async () => {
        const work = Array.from({ length: 52 }, (_, n) =>
          runtimeServicesOf(tasq).buildPackage({ name: 'dash.work', args: [n] }, { queue: idle }),
        );
        await runtimeServicesOf(tasq).send(work);
        const echo = await tasq.enqueueByName('dash.echo', [{ n: 1 }], { queue: idle });
        const first = await api(`/api/jobs?queue=${idle}&state=queued`);
        expect(first.status).toBe(200);
        expect(first.body.kind).toBe('page');
        expect(first.body.jobs).toHaveLength(50);
        expect(first.body.jobs[0]).toMatchObject({ id: echo.id, state: 'queued', task: 'dash.echo' });
        expect(first.body.jobs[0].args).toBeUndefined();
        expect(first.body.next).toEqual(expect.any(String));

        // The HTML page links the next page; that page links back to the first.
        const page = await operator.request('GET', `/jobs?queue=${idle}&state=queued`);
        const next = /href="([^"]+)" rel="next"/.exec(page.text)?.[1]?.replaceAll('&amp;', '&');
        expect(next).toBeDefined();
        const second = await operator.request('GET', next!);
        const secondIds = [...second.text.matchAll(/<tr data-job="([^"]+)"/g)].map((m) => m[1]);
        const allIds = [echo.id, ...work.map((p) => p.id).reverse()];
        expect(secondIds).toEqual(allIds.slice(50));
        const previous = /href="([^"]+)" rel="prev"/.exec(second.text)?.[1]?.replaceAll('&amp;', '&');
        const back = await operator.request('GET', previous!);
        expect([...back.text.matchAll(/<tr data-job="([^"]+)"/g)].map((m) => m[1])).toEqual(
          allIds.slice(0, 50),
        );

        const byTask = await api(`/api/jobs?queue=${idle}&task=dash.echo`);
        expect(byTask.body.jobs.map((j: { id: string }) => j.id)).toEqual([echo.id]);
        const none = await api(`/api/jobs?queue=${idle}&state=running`);
        expect(none.body.jobs).toEqual([]);
        await runtimeServicesOf(tasq).broker.purge(idle);
      });

      it('shows a job with its arguments as type and size only, unless showPayloads is set', async () => {
        const job = await tasq.enqueueByName('dash.echo', [{ token: 'secret-token-value' }], { queue: idle });
        const shown = await api(`/api/jobs/${job.id}`);
        expect(shown.status).toBe(200);
        expect(shown.body.view).toMatchObject({
          id: job.id,
          state: 'queued',
          queue: idle,
          task: 'dash.echo',
        });
        expect(shown.body.args).toEqual({ type: 'array of 1', bytes: 32 });
        const page = await operator.request('GET', `/jobs/${job.id}`);
        expect(page.text).toContain('array of 1, 32 B');
        expect(page.text).not.toContain('secret-token-value');
        expect(JSON.stringify(shown.body)).not.toContain('secret-token-value');

        const open = await serve({
          ...deployment.config,
          dashboard: { ...deployment.config.dashboard, showPayloads: true },
        });
        try {
          const client = new Client(open.url);
          await client.login(OPERATOR_PASSWORD);
          const withPayloads = await client.request('GET', `/jobs/${job.id}`);
          expect(withPayloads.text).toContain('&quot;token&quot;: &quot;secret-token-value&quot;');
        } finally {
          await stop(open);
        }
        await runtimeServicesOf(tasq).broker.purge(idle);
      });

      it('shows the chain links after a job, the job that enqueued it, its trace id and progress', async () => {
        const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
        const pkg = {
          ...runtimeServicesOf(tasq).buildPackage({ name: 'dash.work', args: [1] }, { queue: idle }),
          chain: [
            { name: 'dash.echo', args: [] },
            { name: 'dash.work', args: [] },
          ],
          parentId: 'the-first-link',
          // As a client running inside an OpenTelemetry span sets it.
          traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        };
        await runtimeServicesOf(tasq).send([pkg]);
        // What a running job's reports leave in the result backend.
        await Administration.of(tasq).reportProgress(pkg.id, { done: 3, of: 10 });
        const { body } = await api(`/api/jobs/${pkg.id}`);
        expect(body.view.progress.value).toEqual({ done: 3, of: 10 });
        expect(body.view).toMatchObject({
          chain: ['dash.echo', 'dash.work'],
          parentId: 'the-first-link',
          traceparent: pkg.traceparent,
        });
        const page = await operator.request('GET', `/jobs/${pkg.id}`);
        expect(page.text).toContain(`<dd data-field="trace">${traceId}</dd>`);
        expect(page.text).toContain('<dd data-field="chain">dash.echo → dash.work</dd>');
        expect(page.text).toContain('href="/jobs/the-first-link"');
        expect(page.text).toMatch(
          /<dd data-field="progress">\{&quot;done&quot;:3,&quot;of&quot;:10\} \(at 20\d\d-/,
        );
        await runtimeServicesOf(tasq).broker.purge(idle);
      });

      it('answers bad input with a 4xx naming the problem, and changes nothing', async () => {
        const job = await tasq.enqueueByName('dash.work', [1], { queue: idle });
        const unknown = await api('/api/jobs/no-such-job');
        expect(unknown.status).toBe(404);
        expect(unknown.body.error).toMatch(/no job no-such-job is known/);
        const unknownPage = await operator.request('GET', '/jobs/no-such-job');
        expect(unknownPage.status).toBe(404);
        expect(unknownPage.text).toContain('no job no-such-job is known');
        const badCursor = await api(`/api/jobs?queue=${idle}&state=queued&cursor=not-a-cursor`);
        expect(badCursor.status).toBe(400);
        expect(badCursor.body.error).toMatch(/cursor/);
        expect((await api('/api/jobs?cursor=with%20space')).status).toBe(400);
        const badState = await api('/api/jobs?state=asleep');
        expect(badState.status).toBe(400);
        expect(badState.body.error).toMatch(/unknown state "asleep"/);
        expect((await api('/api/dead-letters?state=dead')).status).toBe(400);

        const cancel = `/jobs/${job.id}/cancel`;
        const asViewer = await post(cancel, { _csrf: await viewer.csrf(), confirm: 'yes' }, viewer);
        expect(asViewer.status).toBe(403);
        expect(asViewer.body.error).toMatch(/only an operator/);
        const noCsrf = await post(cancel, { confirm: 'yes' });
        expect(noCsrf.status).toBe(403);
        expect(noCsrf.body.error).toMatch(/CSRF/);
        const unconfirmed = await post(cancel, { _csrf: csrf });
        expect(unconfirmed.status).toBe(400);
        expect(unconfirmed.body.error).toMatch(/tick the confirmation box/);
        const retryQueued = await post(`/jobs/${job.id}/retry`, { _csrf: csrf });
        expect(retryQueued.status).toBe(409);
        expect(retryQueued.body.error).toMatch(/is queued: only failed, dead, cancelled or expired/);
        expect((await post('/jobs/no-such-job/cancel', { _csrf: csrf, confirm: 'yes' })).status).toBe(404);
        expect((await post('/dead-letters/requeue', { _csrf: csrf, queue: idle })).body.error).toMatch(
          /select at least one dead letter/,
        );
        expect((await post('/dead-letters/purge', { _csrf: csrf, queue: idle, confirm: 'x' })).status).toBe(
          400,
        );
        const unknownQueue = await post('/queues/no-such-queue/pause', { _csrf: csrf });
        expect(unknownQueue.status).toBe(404);
        expect(unknownQueue.body.error).toMatch(/no queue named "no-such-queue"/);

        expect((await api(`/api/jobs/${job.id}`)).body.view.state).toBe('queued');
        expect(await runtimeServicesOf(tasq).broker.size(idle)).toMatchObject({ ready: 1 });
        expect((await api('/api/queues')).body.queues.some((q: { paused?: boolean }) => q.paused)).toBe(
          false,
        );
        expect(actions.filter((a) => a.outcome === 'ok' && a.action !== 'login')).toEqual([]);
        await runtimeServicesOf(tasq).broker.purge(idle);
      });

      it('cancels a queued job and removes another, each recorded as an event', async () => {
        const [first, second] = [
          await tasq.enqueueByName('dash.work', [1], { queue: idle }),
          await tasq.enqueueByName('dash.work', [2], { queue: idle }),
        ];
        const cancelled = await operator.request('POST', `/jobs/${first.id}/cancel`, {
          form: { _csrf: csrf, confirm: 'yes' },
        });
        expect(cancelled.status).toBe(303);
        expect(cancelled.headers.get('location')).toBe(`/jobs/${first.id}`);
        expect((await api(`/api/jobs/${first.id}`)).body.view.state).toBe('cancelled');
        await expect(tasq.job(first.id, 'dash.work').result({ timeout: 1_000 })).rejects.toThrow(/cancelled/);
        const removed = await post(`/jobs/${second.id}/remove`, { _csrf: csrf, confirm: 'yes' });
        expect(removed).toEqual({
          status: 200,
          body: { ok: true, message: `removed job ${second.id} from its queue` },
        });
        expect((await api(`/api/jobs/${second.id}`)).status).toBe(404);
        expect(await runtimeServicesOf(tasq).broker.size(idle)).toMatchObject({ ready: 0 });
        expect(
          actions
            .filter((a) => a.outcome === 'ok' && a.action !== 'login')
            .map((a) => [a.action, a.target, a.role]),
        ).toEqual([
          ['job.cancel', first.id, 'operator'],
          ['job.remove', second.id, 'operator'],
        ]);
      });

      it('pauses and resumes a queue', async () => {
        const paused = await post(`/queues/${deployment.queue}/pause`, { _csrf: csrf });
        expect(paused.status).toBe(200);
        expect(paused.body.message).toMatch(/paused queue/);
        expect(await Administration.of(tasq).pausedQueues()).toContain(deployment.queue);
        const row = (await api('/api/queues')).body.queues.find(
          (q: { queue: string }) => q.queue === deployment.queue,
        );
        expect(row.paused).toBe(true);
        const page = await operator.request('GET', '/queues');
        expect(page.text).toContain(`aria-label="Resume queue ${deployment.queue}"`);
        await post(`/queues/${deployment.queue}/resume`, { _csrf: csrf });
        expect(await Administration.of(tasq).pausedQueues()).not.toContain(deployment.queue);
      });

      describe('with a cluster', () => {
        let cluster: ClusterHandle;
        beforeAll(async () => {
          cluster = await runCluster(deployment.config);
        });
        afterAll(async () => {
          await cluster?.stop({ timeoutMs: 5_000 });
        });

        /**
         * The run after a requeue, read from the result backend (the outcome stored when the job died
         * stays there until the new run replaces it).
         */
        async function ranAgain(id: string): Promise<void> {
          const outcome = await eventually(
            async () => {
              const stored = await runtimeServicesOf(tasq).results.get(id);
              return stored?.status === 'success' ? stored : undefined;
            },
            30_000,
            `job ${id} to run again`,
          );
          expect(outcome.result).toBe('ran after requeue');
          expect((await api(`/api/jobs/${id}`)).body.view.state).toBe('succeeded');
        }

        async function deadJobs(count: number, flag: string): Promise<string[]> {
          const ids: string[] = [];
          for (let n = 0; n < count; n++)
            ids.push((await tasq.enqueueByName('dash.until-flag', [flag], { maxAttempts: 1 })).id);
          await eventually(
            async () => {
              const page = await api(`/api/dead-letters?queue=${deployment.queue}`);
              const dead = page.body.letters.map((l: { id: string }) => l.id);
              return ids.every((id) => dead.includes(id)) || undefined;
            },
            60_000,
            'dead letters',
          );
          return ids;
        }

        it('lists dead letters with their reason, requeues one and all (they run), deletes and purges', async () => {
          const flag = path.join(deployment.folder, 'flag');
          const [a, b, c] = await deadJobs(3, flag);
          const list = await api(`/api/dead-letters?queue=${deployment.queue}`);
          expect(list.body.letters[0]).toMatchObject({
            id: c,
            state: 'dead',
            task: 'dash.until-flag',
            attempts: 1,
          });
          expect(list.body.letters[0].deadReason).toMatch(/flag .* is not there yet/);
          expect(list.body.letters[0].args).toBeUndefined();

          writeFileSync(flag, 'now');
          const requeued = await post('/dead-letters/requeue', {
            _csrf: csrf,
            queue: deployment.queue,
            id: a!,
          });
          expect(requeued.body.message).toBe('requeued 1 dead letter(s)');
          await ranAgain(a!);

          const unconfirmed = await post('/dead-letters/delete', {
            _csrf: csrf,
            queue: deployment.queue,
            id: b!,
          });
          expect(unconfirmed.status).toBe(400);
          expect((await api(`/api/jobs/${b}`)).body.view.state).toBe('dead');
          const deleted = await post('/dead-letters/delete', {
            _csrf: csrf,
            queue: deployment.queue,
            id: b!,
            confirm: 'yes',
          });
          expect(deleted.body.message).toBe('deleted 1 dead letter(s)');

          const all = await post('/dead-letters/requeue', {
            _csrf: csrf,
            queue: deployment.queue,
            all: 'yes',
          });
          expect(all.body.message).toBe(`requeued 1 dead letter(s) of queue ${deployment.queue}`);
          await ranAgain(c!);

          const [d, e] = await deadJobs(2, path.join(deployment.folder, 'never'));
          const wrong = await post('/dead-letters/purge', {
            _csrf: csrf,
            queue: deployment.queue,
            confirm: 'nope',
          });
          expect(wrong.status).toBe(400);
          expect((await api(`/api/dead-letters?queue=${deployment.queue}`)).body.letters).toHaveLength(2);
          const purged = await post('/dead-letters/purge', {
            _csrf: csrf,
            queue: deployment.queue,
            confirm: deployment.queue,
          });
          expect(purged.body.message).toBe(`deleted 2 dead letter(s) of queue ${deployment.queue}`);
          expect((await api(`/api/dead-letters?queue=${deployment.queue}`)).body.letters).toEqual([]);
          expect((await api(`/api/jobs/${d}`)).body.view?.state).not.toBe('dead');
          expect((await api(`/api/jobs/${e}`)).body.view?.state).not.toBe('dead');
        });
      });
    },
  );
}

describe.skipIf(rabbitSkip !== undefined)(
  `jobs on RabbitMQ, which cannot browse a queue${rabbitSkip ? ` (skipped: ${rabbitSkip})` : ''}`,
  () => {
    const deployment = testDeployment({ rabbitmq: { url: rabbitUrl } });
    let tasq: Tasq;
    let running: Awaited<ReturnType<typeof serve>>;
    let operator: Client;

    beforeAll(async () => {
      tasq = await Tasq.open(deployment.config);
      running = await serve(deployment.config);
      operator = new Client(running.url);
      await operator.login(OPERATOR_PASSWORD);
    });

    afterAll(async () => {
      // The queues this test declared (the job's and its dead-letter queue), whatever they are named.
      const declared =
        (
          (tasq ? runtimeServicesOf(tasq) : undefined)?.broker.broker as
            | { declaredQueues?: string[] }
            | undefined
        )?.declaredQueues ?? [];
      await stop(running);
      await tasq?.close();
      for (const queue of [...declared])
        await promisify(execFile)('rabbitmqctl', ['-q', 'delete_queue', queue]);
      deployment.cleanup();
    });

    it("says why it lists no waiting jobs and shows the queue's counts instead", async () => {
      const waiting = await tasq.enqueueByName('dash.work', [1]);
      await tasq.enqueueByName('dash.work', [2]);
      const one = await operator.request('GET', `/api/jobs/${waiting.id}`, {
        headers: { accept: 'application/json' },
      });
      expect(one.status).toBe(404);
      expect(JSON.parse(one.text).error).toMatch(
        /rabbitmq broker cannot look up a job still waiting in its queue/,
      );
      const listing = await operator.request('GET', '/api/jobs', { headers: { accept: 'application/json' } });
      expect(listing.status).toBe(200);
      const body = JSON.parse(listing.text);
      expect(body.kind).toBe('unlisted');
      expect(body.reason).toMatch(/rabbitmq broker cannot list the jobs waiting or running/);
      await eventually(async () => {
        const page = await operator.request('GET', `/jobs?queue=${deployment.queue}`);
        return /<td data-count="ready">2<\/td>/.test(page.text) ? page : undefined;
      });
      const page = await operator.request('GET', `/jobs?queue=${deployment.queue}`);
      expect(page.text).toContain('This broker cannot list these jobs');
      expect(page.text).not.toContain('<table class="jobs">');
      // Finished jobs come from the result backend, which can list them.
      const failed = await operator.request('GET', '/api/jobs?state=failed', {
        headers: { accept: 'application/json' },
      });
      expect(JSON.parse(failed.text)).toMatchObject({ kind: 'page', jobs: [] });
    });
  },
);
