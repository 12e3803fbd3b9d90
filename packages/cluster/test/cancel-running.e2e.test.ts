import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Administration, type ResolvedConfig, resolveConfig, Signature, Tasq } from '@tasq/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../src/index.js';
import {
  deleteRedisPrefix,
  eventually,
  postgresDatabase,
  redisUrl,
  requirePostgres,
  requireRedis,
  runCluster,
  sleep,
  tasksModule,
  tasqCli,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

interface Deployment {
  label: string;
  skipReason: string | undefined;
  /** The broker part of the configuration, and what removes its data afterwards. */
  open(): { broker: Record<string, unknown>; cleanup(): Promise<void> };
  monitoring: boolean;
}

const deployments: Deployment[] = [
  {
    label: 'Redis, cancel pushed over pub/sub',
    skipReason: await requireRedis(),
    monitoring: true,
    open: () => {
      const prefix = `tasq-cancel-${randomBytes(4).toString('hex')}`;
      return { broker: { redis: { url: redisUrl, prefix } }, cleanup: () => deleteRedisPrefix(prefix) };
    },
  },
  {
    label: 'PostgreSQL, cancel mark read by the cluster',
    skipReason: await requirePostgres(),
    monitoring: false,
    open: () => {
      const database = postgresDatabase();
      return { broker: database.broker as Record<string, unknown>, cleanup: () => database.cleanup() };
    },
  },
];

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(deployment: Deployment) {
  const folder = mkdtempSync(path.join(tmpdir(), 'tasq-cancel-e2e-'));
  const { broker, cleanup } = deployment.open();
  const input = {
    ...broker,
    name: `cancel-${randomBytes(4).toString('hex')}`,
    tasks: [tasksModule],
    workers: 1,
    queue: `q-${randomBytes(4).toString('hex')}`,
    secret: 'cluster-test-secret',
    scheduler: false,
  };
  const configFile = path.join(folder, 'tasq.config.json');
  writeFileSync(configFile, JSON.stringify(input));
  const config: ResolvedConfig = resolveConfig(input, { env: {} });
  const client = await Tasq.open(config);
  const cluster: ClusterHandle = await runCluster(config, { monitoring: deployment.monitoring });
  cleanups.push(async () => {
    await cluster.stop({ timeoutMs: 5_000 });
    await client.close();
    await cleanup();
    rmSync(folder, { recursive: true, force: true });
  });
  return { folder, configFile, client, cluster, admin: Administration.of(client) };
}

describe.each(deployments)('cancelling a running job ($label)', (deployment) => {
  const skip = deployment.skipReason;
  it.skipIf(skip !== undefined)(
    `aborts the task's signal, stores the job as cancelled and never runs its chain ${skip ? `(skipped: ${skip})` : ''}`,
    async () => {
      const { folder, configFile, client, cluster, admin } = await start(deployment);
      const seen = path.join(folder, 'abort-reason');
      const firstId = `first-${randomBytes(4).toString('hex')}`;
      const last = await client
        .chain([new Signature('test.until-aborted', [seen]), new Signature('test.noop', [])])
        .enqueue({ id: firstId });
      await eventually(async () => (await admin.job(firstId)).state === 'running', 15_000, 'the run');

      const cancelled = await tasqCli(configFile, ['job', 'cancel', firstId, '--reason', 'wrong customer']);
      expect(cancelled.code).toBe(0);
      expect(cancelled.out).toContain('marked cancelled');
      if (deployment.monitoring) expect(cancelled.out).toContain('is stopping it');

      await eventually(() => existsSync(seen), 15_000, 'the task to see its signal abort');
      expect(readFileSync(seen, 'utf8')).toBe(`job ${firstId} was cancelled: wrong customer`);
      await eventually(() => cluster.stats.cancelled === 1, 15_000, 'the cancel to be settled');
      // Counted once its outcome is saved; the ack follows.
      await eventually(
        async () => (await admin.job(firstId)).state !== 'running',
        15_000,
        'the delivery to be acked',
      );
      const shown = await tasqCli(configFile, ['job', 'show', firstId, '--json']);
      const view = JSON.parse(shown.out);
      expect(view.state).toBe('cancelled');
      expect(view.error.name).toBe('JobCancelledError');
      expect(view.error.message).toContain('wrong customer');

      await sleep(1_500);
      expect((await admin.job(last.id)).state).toBe('unknown');
      expect(cluster.stats).toMatchObject({ started: 1, cancelled: 1, failed: 0, retried: 0 });
      expect(await runtimeServicesOf(client).broker.size(client.config.queue)).toMatchObject({
        ready: 0,
        reserved: 0,
        dead: 0,
      });
    },
    60_000,
  );

  it.skipIf(skip !== undefined)(
    `kills a task that ignores its signal after the grace, and stores it as cancelled ${skip ? `(skipped: ${skip})` : ''}`,
    async () => {
      const { client, cluster, admin, configFile } = await start(deployment);
      // Grace: timeout minus softTimeout = 2 s.
      const job = await client.enqueueByName('test.hang', [600_000], { softTimeout: '20s', timeout: '22s' });
      await eventually(async () => (await admin.job(job.id)).state === 'running', 15_000, 'the run');
      const pidBefore = cluster.workers()[0]?.pid;

      expect((await tasqCli(configFile, ['job', 'cancel', job.id])).code).toBe(0);
      await eventually(() => cluster.stats.cancelled === 1, 15_000, 'the killed run to be settled');
      // Counted once its outcome is saved; the delivery is acked just after, until then the broker still
      // answers for the job (running).
      const view = await eventually(
        async () => {
          const seen = await admin.job(job.id);
          return seen.state === 'running' ? undefined : seen;
        },
        15_000,
        'the delivery to be acked',
      );
      expect(view.state).toBe('cancelled');
      expect(view.error?.message).toContain('did not stop within 2000 ms of its cancel');
      // The worker was replaced, as after a hard timeout.
      await eventually(
        () => {
          const now = cluster.workers().filter((worker) => !worker.retiring);
          return now.length === 1 && now[0]!.pid !== pidBefore;
        },
        15_000,
        'a new worker',
      );
      expect(cluster.stats).toMatchObject({ failed: 0, timedOut: 0, released: 0 });
    },
    60_000,
  );
});
