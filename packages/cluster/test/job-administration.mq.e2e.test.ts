/**
 * On brokers that keep nothing but their queues (RabbitMQ, SQS), an operator's pause flags and cancel
 * marks live in the result backend, and a running cluster honours them as it does on the other brokers:
 * a cluster started after `tasq queue pause` takes nothing from the queue until `tasq queue resume`, and a
 * job cancelled before any cluster took it is stored as cancelled, neither it nor its hook run.
 * RabbitMQ keeps its marks in a Redis result backend here, SQS (the fauxqs emulator) in a SQLite one.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Administration, resolveConfig, type TasqConfigInput, Tasq } from '@tasq/core';
import { requireService } from '@tasq/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../src/index.js';
import { liveHeldJobs } from '../src/monitoring/held-jobs.js';
import {
  type Database,
  deleteRedisPrefix,
  eventually,
  redisUrl,
  requireRedis,
  runCluster,
  sleep,
  sqliteDatabase,
  sqsEmulator,
  tasksModule,
  tasqCli,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const rabbitUrl = process.env.TASQ_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const sqs = await sqsEmulator();
const redisSkip = await requireRedis();
const rabbitSkip = await requireService('RabbitMQ at 127.0.0.1:5672', async () => {
  await promisify(execFile)('rabbitmqctl', ['-q', 'status']);
});

interface Case {
  label: string;
  skipReason: string | undefined;
  /** Broker and result backend settings for a deployment in `folder`, and what removes them after. */
  settings(folder: string): { settings: TasqConfigInput; cleanup(client: Tasq): Promise<void> };
}

const cases: Case[] = [
  {
    label: 'RabbitMQ, marks in Redis results',
    skipReason: rabbitSkip ?? redisSkip,
    settings: () => {
      const prefix = `tasq-mq-admin-${randomBytes(4).toString('hex')}`;
      return {
        settings: { rabbitmq: { url: rabbitUrl }, resultBackend: { redis: { url: redisUrl, prefix } } },
        cleanup: async (client) => {
          await deleteRedisPrefix(prefix);
          const declared = (runtimeServicesOf(client).broker.broker as { declaredQueues?: string[] })
            .declaredQueues;
          for (const queue of declared ?? []) {
            await promisify(execFile)('rabbitmqctl', ['-q', 'delete_queue', queue]).catch(() => undefined);
          }
        },
      };
    },
  },
  {
    label: 'SQS (fauxqs), marks in SQLite results',
    skipReason: sqs.skipReason,
    settings: (folder) => ({
      settings: {
        ...sqs.settings(sqs.address.host, sqs.address.port),
        resultBackend: { sqlite: path.join(folder, 'results.db') },
      },
      cleanup: async () => {},
    }),
  },
];

const opened: Array<{
  cluster?: ClusterHandle;
  client: Tasq;
  database: Database;
  cleanup(client: Tasq): Promise<void>;
}> = [];
afterEach(async () => {
  for (const { cluster, client, database, cleanup } of opened.splice(0)) {
    await cluster?.stop({ timeoutMs: 5_000 });
    await cleanup(client);
    await client.close();
    await database.cleanup();
  }
});

describe.each(cases)('job administration on a queue-only broker ($label)', ({ skipReason, settings }) => {
  async function deployment() {
    const database = sqliteDatabase();
    const { settings: brokerSettings, cleanup } = settings(database.folder);
    const input: TasqConfigInput = {
      ...brokerSettings,
      tasks: [tasksModule],
      workers: 1,
      queue: `mq-admin-${randomBytes(4).toString('hex')}`,
      guardCycle: '100ms',
      secret: 'mq-admin-test-secret',
      scheduler: false,
    };
    const config = resolveConfig(input, { env: {} });
    const client = await Tasq.open(config);
    const entry: (typeof opened)[number] = { client, database, cleanup };
    opened.push(entry);
    const configFile = path.join(database.folder, 'tasq.config.json');
    writeFileSync(configFile, JSON.stringify(input));
    const cli = (args: string[]) => tasqCli(configFile, args);
    const start = async (options: { monitoring?: boolean } = {}) => {
      entry.cluster = await runCluster(config, { monitoring: false, heartbeatMs: 500, ...options });
      return entry.cluster;
    };
    return { config, client, admin: Administration.of(client), cli, start };
  }

  it.skipIf(skipReason !== undefined)(
    `a cluster started after a pause takes nothing from the queue until it is resumed ${skipReason ? `(skipped: ${skipReason})` : ''}`,
    async () => {
      const { config, client, admin, cli, start } = await deployment();
      expect(admin.support().marksKeptBy).toBe('results');
      const paused = await cli(['queue', 'pause', config.queue]);
      expect(paused).toMatchObject({ code: 0 });
      const job = await client.enqueueByName('test.add', [2, 3]);
      const cluster = await start();
      // Far past the cluster's first read of the flags (at most a second apart).
      await sleep(2_500);
      expect(cluster.stats.received).toBe(0);
      const size = await cli(['queue', 'size', config.queue]);
      expect(size.code).toBe(0);
      expect(size.out).toMatch(/paused/);

      const resumed = await cli(['queue', 'resume', config.queue]);
      expect(resumed).toMatchObject({ code: 0 });
      expect(await job.result({ timeout: 15_000 })).toBe(5);
      expect(await admin.pausedQueues()).not.toContain(config.queue);
    },
  );

  it.skipIf(skipReason !== undefined)(
    `a job cancelled before any cluster took it is stored as cancelled, never run nor its hook ${skipReason ? `(skipped: ${skipReason})` : ''}`,
    async () => {
      const { client, admin, start } = await deployment();
      const cancelled = await client.enqueueByName('test.add', [1, 1], { hook: 'test.noop' });
      const kept = await client.enqueueByName('test.add', [3, 3]);
      // The broker cannot look the job up, so the cancel leaves a mark every cluster checks.
      expect(await admin.cancel(cancelled.id, 'no longer wanted')).toEqual({
        id: cancelled.id,
        outcome: 'marked',
      });
      const cluster = await start();

      expect(await kept.result({ timeout: 15_000 })).toBe(6);
      await eventually(() => cluster.stats.cancelled === 1, 15_000, 'the cancelled job');
      // Carried out, the cancel leaves no mark behind; the stored outcome still says cancelled.
      await eventually(
        async () => (await admin.cancelMarks([cancelled.id])).length === 0,
        15_000,
        'the cancel mark to be dropped',
      );
      const view = await admin.job(cancelled.id);
      expect(view).toMatchObject({ state: 'cancelled', source: 'results' });
      expect(view.error?.message).toMatch(/no longer wanted/);
      expect(cluster.stats).toMatchObject({ started: 1, succeeded: 1, cancelled: 1 });
      expect((await runtimeServicesOf(client).broker.size(client.config.queue)).ready).toBe(0);
    },
  );

  it.skipIf(skipReason !== undefined)(
    `a running job is reported running by the live cluster that holds it; an id nothing knows is unknown ${skipReason ? `(skipped: ${skipReason})` : ''}`,
    async () => {
      const { client, cli, start } = await deployment();
      const cluster = await start({ monitoring: true });
      const admin = Administration.of(client, { heldJobs: liveHeldJobs(client, { waitMs: 1_000 }) });
      // Long enough for the CLI below to start and ask while it still runs.
      const job = await client.enqueueByName('test.hang', [10_000]);
      await eventually(() => cluster.stats.started === 1, 10_000, 'the job to start');

      // Remote control answers at once on RabbitMQ; on SQS the snapshot stored at the next heartbeat.
      let view = await admin.job(job.id);
      await eventually(
        async () => {
          view = await admin.job(job.id);
          return view.state === 'running';
        },
        10_000,
        'a cluster to report the job',
      );
      expect(view).toMatchObject({
        id: job.id,
        state: 'running',
        source: 'cluster',
        task: 'test.hang',
        queue: client.config.queue,
        heldBy: { cluster: cluster.identity },
      });
      expect(view.startedAt).toBeGreaterThan(0);
      const shown = await cli(['job', 'show', job.id]);
      expect(shown.code).toBe(0);
      expect(shown.out).toMatch(/state\s+running/);
      expect(shown.out).toContain(`held by  cluster ${cluster.identity}`);

      const stranger = await admin.job('0190aaaa-0000-7000-8000-000000000000');
      expect(stranger).toMatchObject({ state: 'unknown', source: 'none' });
      const unknown = await cli(['job', 'show', '0190aaaa-0000-7000-8000-000000000000']);
      expect(unknown.code).toBe(3);
      expect(unknown.out).toMatch(/cannot look into its queues/);

      expect(await job.result({ timeout: 20_000 })).toBe('finished');
      expect(await admin.job(job.id)).toMatchObject({ state: 'succeeded', source: 'results' });
    },
  );
});
