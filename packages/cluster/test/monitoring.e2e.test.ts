/**
 * Monitoring and remote control against real clusters on PostgreSQL (NOTIFY pub/sub, a schema of this
 * run's own): events observed end to end, signatures enforced, control commands answered by every
 * matching cluster, the pool resized and restarted, and Prometheus metrics scraped over HTTP.
 */
import { randomBytes } from 'node:crypto';
import { resolveConfig, type TasqEvent, type TasqConfigInput, type WorkerEvent } from '@tasq/core';
import { eventsChannel, controlChannel, FrameCodec } from '@tasq/core/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPubSub, sendControl, subscribeEvents, type EventStream } from '../src/index.js';
import {
  configFor,
  type Database,
  eventually,
  postgresDatabase,
  requirePostgres,
  runCluster,
  tasksModule,
} from './support.js';

const skipReason = await requirePostgres();

describe.skipIf(skipReason)(
  `monitoring and remote control on PostgreSQL${skipReason ? ` (${skipReason})` : ''}`,
  () => {
    let database: Database;
    beforeAll(() => {
      database = postgresDatabase();
    });
    afterAll(() => database?.cleanup());

    const deployment = () => `mon_${randomBytes(4).toString('hex')}`;

    /** Collect events from a stream into an array, in the background. */
    function collect(stream: EventStream): TasqEvent[] {
      const seen: TasqEvent[] = [];
      void (async () => {
        for await (const event of stream) seen.push(event);
      })();
      return seen;
    }

    it('publishes task, worker and cluster events with heartbeats, and ignores forged ones', async () => {
      const config = configFor(database, { name: deployment(), workers: 2, maxAttempts: 1 });
      const stream = await subscribeEvents(config);
      const seen = collect(stream);
      const cluster = await runCluster(config, { heartbeatMs: 300 });
      try {
        const ok = await cluster.tasq.enqueueByName('test.add', [2, 3]);
        const bad = await cluster.tasq.enqueueByName('test.broken', []);
        const flaky = await cluster.tasq.enqueueByName(
          'test.flaky',
          [`${database.folder}/flaky-${randomBytes(4).toString('hex')}`, 1],
          { retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 10 } }, maxAttempts: 2 },
        );
        expect(await ok.result({ timeout: 10_000 })).toBe(5);
        await bad.outcome(10_000);
        const of = (type: string, jobId?: string) =>
          seen.find((e) => e.type === type && (jobId === undefined || ('jobId' in e && e.jobId === jobId)));
        await eventually(
          () => of('task-failed', bad.id) && of('task-succeeded', flaky.id) && of('worker-heartbeat'),
          10_000,
          'events',
        );
        const pids = cluster.workers().map((w) => w.pid);

        expect(of('cluster-online')).toMatchObject({
          cluster: cluster.identity,
          workers: 2,
          queues: [config.queue],
        });
        expect(of('task-received', ok.id)).toMatchObject({
          name: 'test.add',
          queue: config.queue,
          attempt: 1,
        });
        const started = of('task-started', ok.id);
        expect(pids).toContain(started && 'worker' in started ? started.worker : undefined);
        expect(of('task-succeeded', ok.id)).toMatchObject({
          name: 'test.add',
          runtimeMs: expect.any(Number),
        });
        expect(of('task-failed', bad.id)).toMatchObject({
          name: 'test.broken',
          error: 'TypeError: this task always fails',
        });
        expect(of('task-retried', flaky.id)).toMatchObject({ error: 'Error: planned failure 1 of 1' });
        const heartbeat = of('worker-heartbeat') as WorkerEvent;
        expect(pids).toContain(heartbeat.pid);
        expect(heartbeat.rssBytes).toBeGreaterThan(10 * 2 ** 20);
        expect(of('cluster-heartbeat')).toMatchObject({
          cluster: cluster.identity,
          pid: process.pid,
          prefetched: 0,
        });

        // A frame signed with another secret is dropped by the reader, never delivered.
        const forger = new FrameCodec({ secret: 'not-the-deployment-secret' });
        const pubsub = (await openPubSub(config))!;
        const forged: TasqEvent = {
          type: 'task-failed',
          at: Date.now(),
          cluster: 'forged@nowhere:1',
          jobId: 'forged',
          name: 'forged',
          queue: 'forged',
          attempt: 1,
        };
        await pubsub.publish(eventsChannel(config.name), forger.encode({ kind: 'events', events: [forged] }));
        // ...and a forged control command does nothing: the pool keeps its size.
        await pubsub.publish(
          controlChannel(config.name),
          forger.encode({
            kind: 'control',
            requestId: 'x',
            command: 'pool-grow',
            count: 3,
            sentAt: Date.now(),
          }),
        );
        await pubsub.close();
        await eventually(() => stream.rejected === 1, 5_000, 'the forged event to be rejected');
        expect(seen.some((e) => e.cluster === 'forged@nowhere:1')).toBe(false);
        expect(cluster.snapshot().poolSize).toBe(2);
      } finally {
        await cluster.stop();
      }
      await eventually(
        () => seen.some((e) => e.type === 'cluster-offline' && e.cluster === cluster.identity),
        5_000,
      );
      await stream.close();
    });

    it('answers control commands from every matching cluster, resizes and restarts the pool', async () => {
      const name = deployment();
      const input: TasqConfigInput = {
        ...database.broker,
        name,
        tasks: [tasksModule],
        workers: 1,
        queue: `q-${randomBytes(4).toString('hex')}`,
        guardCycle: '100ms',
        secret: 'cluster-test-secret',
        altClusters: { east: {}, west: {} },
      };
      const east = await runCluster(resolveConfig(input, { env: {}, cluster: 'east' }));
      const west = await runCluster(resolveConfig(input, { env: {}, cluster: 'west' }));
      const client = resolveConfig(input, { env: {} });
      try {
        const pings = await sendControl(client, { command: 'ping', timeoutMs: 3_000, expectReplies: 2 });
        expect(pings.map((reply) => reply.cluster).sort()).toEqual([east.identity, west.identity].sort());
        expect(pings.every((reply) => reply.ok && typeof reply.result?.uptimeMs === 'number')).toBe(true);

        const onlyEast = await sendControl(client, {
          command: 'pool-grow',
          count: 2,
          cluster: 'east',
          timeoutMs: 1_500,
        });
        expect(onlyEast).toEqual([
          expect.objectContaining({ cluster: east.identity, ok: true, result: { previous: 1, poolSize: 3 } }),
        ]);
        await eventually(() => east.workers().length === 3, 10_000, 'east to grow to 3 workers');
        expect(west.snapshot().poolSize).toBe(1);

        const tooMuch = await sendControl(client, {
          command: 'pool-shrink',
          count: 5,
          cluster: 'east',
          timeoutMs: 1_500,
        });
        expect(tooMuch[0]).toMatchObject({ ok: false, error: expect.stringMatching(/cannot shrink by 5/) });
        await sendControl(client, {
          command: 'pool-shrink',
          count: 2,
          cluster: east.identity,
          timeoutMs: 1_000,
          expectReplies: 1,
        });
        await eventually(() => east.workers().length === 1, 10_000, 'east to shrink to 1 worker');

        const [stats] = await sendControl(client, { command: 'stats', cluster: 'west', timeoutMs: 1_500 });
        expect(stats?.result).toMatchObject({
          cluster: west.identity,
          poolSize: 1,
          workers: [expect.objectContaining({ state: 'idle' })],
        });

        const before = west.workers().map((w) => w.pid);
        const [restart] = await sendControl(client, {
          command: 'restart',
          cluster: 'west',
          timeoutMs: 1_000,
          expectReplies: 1,
        });
        expect(restart?.result).toEqual({ restarting: 1 });
        await eventually(
          () => west.workers().length === 1 && !before.includes(west.workers()[0]?.pid),
          10_000,
          'a fresh worker',
        );
        const job = await west.tasq.enqueueByName('test.pid', []);
        expect(before).not.toContain(await job.result({ timeout: 10_000 }));

        expect(await sendControl(client, { command: 'ping', cluster: 'north', timeoutMs: 500 })).toEqual([]);

        const [bye] = await sendControl(client, {
          command: 'shutdown',
          cluster: 'east',
          timeoutMs: 1_000,
          expectReplies: 1,
        });
        expect(bye).toMatchObject({ cluster: east.identity, ok: true });
        await east.stopped;
      } finally {
        await Promise.all([east.stop(), west.stop()]);
      }
    });

    it('grows the pool while jobs wait and shrinks it when idle (autoscale)', async () => {
      const config = configFor(database, { name: deployment(), workers: 1, queueLimit: 12 });
      const cluster = await runCluster(config, {
        autoscale: { min: 1, max: 3, checkMs: 100, growAfter: 2, shrinkAfter: 5 },
      });
      const sizes: number[] = [];
      cluster.events.on('pool-resized', (event) => sizes.push(event.size));
      try {
        const jobs = await Promise.all(
          Array.from({ length: 8 }, () => cluster.tasq.enqueueByName('test.hang', [400])),
        );
        await eventually(() => cluster.snapshot().poolSize === 3, 10_000, 'the pool to reach max');
        for (const job of jobs) await job.result({ timeout: 15_000 });
        await eventually(() => cluster.snapshot().poolSize === 1, 10_000, 'the pool to shrink to min');
        expect(Math.max(...sizes)).toBe(3);
        expect(sizes.at(-1)).toBe(1);
      } finally {
        await cluster.stop();
      }
    });

    it('serves Prometheus metrics from a running cluster', async () => {
      const config = configFor(database, { name: deployment(), workers: 2, maxAttempts: 1 });
      const cluster = await runCluster(config, { metrics: { host: '127.0.0.1', port: 0 } });
      try {
        await (await cluster.tasq.enqueueByName('test.add', [1, 1])).result({ timeout: 10_000 });
        await (await cluster.tasq.enqueueByName('test.add', [1, 2])).result({ timeout: 10_000 });
        await (await cluster.tasq.enqueueByName('test.broken', [])).outcome(10_000);
        await cluster.tasq.enqueueByName('test.add', [0, 0], { delay: '1m' });
        const response = await fetch(`http://127.0.0.1:${cluster.metricsPort}/metrics`);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
        const text = await response.text();
        const value = (pattern: RegExp) => {
          const line = text.split('\n').find((l) => pattern.test(l));
          return line === undefined ? undefined : Number(line.split(' ').at(-1));
        };
        const c = `cluster="${cluster.identity}"`;
        const q = `queue="${config.queue}"`;
        expect(value(new RegExp(`^tasq_tasks_total\\{task="test.add",${q},status="succeeded",${c}\\}`))).toBe(
          2,
        );
        expect(value(new RegExp(`^tasq_tasks_total\\{task="test.broken",${q},status="failed",${c}\\}`))).toBe(
          1,
        );
        expect(
          value(new RegExp(`^tasq_task_duration_seconds_count\\{task="test.add",status="succeeded",${c}\\}`)),
        ).toBe(2);
        expect(
          value(
            new RegExp(
              `^tasq_task_duration_seconds_bucket\\{le="\\+Inf",task="test.add",status="succeeded",${c}\\}`,
            ),
          ),
        ).toBe(2);
        expect(value(new RegExp(`^tasq_queue_size\\{${c},${q},state="delayed"\\}`))).toBe(1);
        expect(value(new RegExp(`^tasq_pool_size\\{${c}\\}`))).toBe(2);
        expect(text.match(/^tasq_worker_rss_bytes\{/gm)).toHaveLength(2);
        expect(text).toMatch(/^# TYPE tasq_task_duration_seconds histogram$/m);
      } finally {
        await cluster.stop();
      }
    });
  },
);
