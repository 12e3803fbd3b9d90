/**
 * `maxAttempts` counts deliveries, crashes included. With `maxAttempts: 1`, a cluster process is killed
 * with SIGKILL while it runs a job, so no outcome is ever recorded; the job comes back to a second
 * cluster with its second delivery, which must fail it for good (dead-lettered, a failure stored that
 * names the attempts) instead of running it again. On every broker with a delivery count.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { resolveConfig, type TasqConfigInput, Tasq } from '@tasq/core';
import { requireService } from '@tasq/testing';
import { describe, expect, it } from 'vitest';
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
  sqliteDatabase,
  sqsEmulator,
  tasksModule,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const runner = fileURLToPath(new URL('./fixtures/run-cluster.mjs', import.meta.url));
const rabbitUrl = process.env.TASQ_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

interface Deployment {
  /** Broker (and result backend) settings. */
  settings: TasqConfigInput;
  /** Removes what the test stored on a shared server; `cluster` is the cluster that ran on it. */
  cleanup(cluster: ClusterHandle | undefined): Promise<void>;
}

interface Case {
  label: string;
  skipReason: string | undefined;
  deployment(folder: string): Promise<Deployment>;
}

const sqs = await sqsEmulator();

const resultsIn = (folder: string) => ({ resultBackend: { sqlite: path.join(folder, 'results.db') } });

const cases: Case[] = [
  {
    label: 'Redis',
    skipReason: await requireRedis(),
    deployment: async () => {
      const prefix = `tasq-attempts-${randomBytes(4).toString('hex')}`;
      return { settings: { redis: { url: redisUrl, prefix } }, cleanup: () => deleteRedisPrefix(prefix) };
    },
  },
  {
    label: 'PostgreSQL',
    skipReason: await requirePostgres(),
    deployment: async () => {
      const database = postgresDatabase();
      return { settings: database.broker, cleanup: () => database.cleanup() };
    },
  },
  {
    label: 'SQLite',
    skipReason: undefined,
    deployment: async (folder) => ({
      settings: { sqlite: path.join(folder, 'tasq.db') },
      cleanup: async () => {},
    }),
  },
  {
    label: 'RabbitMQ (classic queue)',
    skipReason: await requireService('RabbitMQ at 127.0.0.1:5672', async () => {
      await promisify(execFile)('rabbitmqctl', ['-q', 'status']);
    }),
    deployment: async (folder) => ({
      settings: { rabbitmq: { url: rabbitUrl }, ...resultsIn(folder) },
      // The queues this run declared (the job's and its dead-letter queue), whatever they are named.
      cleanup: async (cluster) => {
        const declared = (
          (cluster ? runtimeServicesOf(cluster.tasq) : undefined)?.broker.broker as
            | { declaredQueues?: string[] }
            | undefined
        )?.declaredQueues;
        for (const queue of declared ?? []) {
          await promisify(execFile)('rabbitmqctl', ['-q', 'delete_queue', queue]);
        }
      },
    }),
  },
  {
    label: 'SQS (fauxqs)',
    skipReason: sqs.skipReason,
    deployment: async (folder) => ({
      settings: { ...sqs.settings(sqs.address.host, sqs.address.port), ...resultsIn(folder) },
      cleanup: async () => {},
    }),
  },
];

describe.each(cases)('maxAttempts: 1 and a cluster killed mid-run ($label)', ({ skipReason, deployment }) => {
  it.skipIf(skipReason !== undefined)(
    `the next delivery is dead-lettered with a failure that names the attempts, never run ${skipReason ? `(skipped: ${skipReason})` : ''}`,
    async () => {
      const folder = sqliteDatabase();
      const { settings, cleanup } = await deployment(folder.folder);
      const input: TasqConfigInput = {
        ...settings,
        tasks: [tasksModule],
        workers: 1,
        queue: `attempts-${randomBytes(4).toString('hex')}`,
        // A short lease: the killed cluster's delivery comes back within seconds.
        retry: '2s',
        maxAttempts: 1,
        guardCycle: '100ms',
        secret: 'max-attempts-test-secret',
        scheduler: false,
      };
      const configFile = path.join(folder.folder, 'tasq.config.json');
      writeFileSync(configFile, JSON.stringify(input));
      const config = resolveConfig(input, { env: {} });
      const marks = path.join(folder.folder, 'marks');
      let victim: ChildProcess | undefined;
      let second: ClusterHandle | undefined;
      const client = await Tasq.open(config);
      try {
        victim = spawn(process.execPath, [runner, configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
        let started = false;
        victim.stdout!.on('data', (chunk: Buffer) => {
          if (chunk.toString('utf8').includes('"cluster started"')) started = true;
        });
        await eventually(() => started, 60_000, 'the first cluster');
        // Runs 30 s: it is still running when its cluster is killed, however slow the machine.
        const job = await client.enqueueByName('test.mark', [marks, 'run', 30_000]);
        await eventually(() => existsSync(marks), 60_000, 'the first run to start');
        victim.kill('SIGKILL');
        await once(victim, 'exit');

        second = await runCluster(config, { monitoring: false });
        const reason = /delivered 2 times, maxAttempts is 1: /;
        await expect(job.result({ timeout: 60_000 })).rejects.toThrow(reason);
        expect(await runtimeServicesOf(client).results.get(job.id)).toMatchObject({
          status: 'failure',
          attempts: 2,
          error: { name: 'MaxAttemptsExceededError', message: expect.stringMatching(reason) },
        });
        const size = await eventually(
          async () => {
            // The failure is stored before the package is dead-lettered; where the broker cannot count
            // its dead letters (RabbitMQ, SQS), the cluster's own count says when that step is done.
            if (second!.stats.deadLettered < 1) return undefined;
            const counts = await runtimeServicesOf(client).broker.size(config.queue);
            return counts.dead === undefined || counts.dead === 1 ? counts : undefined;
          },
          30_000,
          'the dead-lettered job',
        );
        expect(size.ready).toBe(0);
        expect(second.stats).toMatchObject({ started: 0, deadLettered: 1 });
        // Time for a second run to show up, had one started.
        await sleep(1_000);
        expect(readFileSync(marks, 'utf8').trim().split('\n')).toHaveLength(1);
      } finally {
        if (victim && victim.exitCode === null && victim.signalCode === null) {
          victim.kill('SIGKILL');
          await once(victim, 'exit');
        }
        await client.close();
        await second?.stop({ timeoutMs: 5_000 });
        await cleanup(second);
        await folder.cleanup();
      }
    },
    150_000,
  );
});
