/**
 * A result save that fails during a short broker outage is retried, not turned into a second run. Jobs
 * on Redis (broker and result backend) are running when the server is killed; they finish while it is
 * down, their saves fail, and the server comes back at once: each job must be saved and acked after
 * running exactly once. A Redis server of the test's own (durable, so a restart keeps its data) is
 * killed and started again; the shared server is not touched.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Logger, resolveConfig, Tasq } from '@tasq/core';
import { requireService } from '@tasq/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../src/index.js';
import {
  type Database,
  eventually,
  PrivateRedis,
  runCluster,
  sqliteDatabase,
  tasksModule,
} from './support.js';

const skipReason = await requireService(
  "redis-server (to run a Redis server of the test's own)",
  async () => {
    execFileSync('redis-server', ['--version']);
  },
);

const JOBS = 4;

describe.skipIf(skipReason !== undefined)(
  `result saves across a broker outage${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    let folder: Database;
    let redis: PrivateRedis | undefined;

    beforeAll(() => {
      folder = sqliteDatabase();
    });
    afterAll(async () => {
      await redis?.kill();
      await folder.cleanup();
    });

    it('a save that fails while Redis restarts is retried: every job runs once and is acked', async () => {
      redis = await PrivateRedis.start(folder.folder);
      const config = resolveConfig(
        {
          redis: { url: redis.url },
          tasks: [tasksModule],
          workers: 1,
          concurrency: JOBS,
          secret: 'save-outage-test-secret',
          guardCycle: '100ms',
          // A lease far longer than the outage: only a release could run a job twice.
          retry: '60s',
          scheduler: false,
        },
        { env: {} },
      );
      const failedSaves: string[] = [];
      const log = (message?: string) => {
        if (message?.startsWith('saving the result failed')) failedSaves.push(message);
      };
      const logger: Logger = {
        debug() {},
        info() {},
        warn: (_fields, message) => log(message),
        error: (_fields, message) => log(message),
      };
      let cluster: ClusterHandle | undefined;
      const tasq = await Tasq.open(config);
      try {
        cluster = await runCluster(config, { logger, monitoring: false });
        const marks = path.join(folder.folder, 'marks');
        const runs = () => (existsSync(marks) ? readFileSync(marks, 'utf8').trim().split('\n') : []);
        const jobs = await Promise.all(
          Array.from({ length: JOBS }, (_, i) => tasq.enqueueByName('test.mark', [marks, `job-${i}`, 5_000])),
        );
        await eventually(() => runs().length === JOBS, 60_000, 'every job to start');
        // Killed well inside the jobs' 5 s: they finish with Redis down, and their saves fail.
        await redis.kill();
        await eventually(() => failedSaves.length > 0, 60_000, 'a save to fail');
        await redis.start();
        for (const job of jobs) expect(await job.result({ timeout: 60_000 })).toMatch(/^job-\d$/);
        await eventually(() => cluster!.stats.succeeded >= JOBS, 30_000, 'every job to be settled');
        expect(cluster.stats).toMatchObject({ succeeded: JOBS, released: 0 });
        expect(failedSaves.every((message) => message.endsWith('trying again'))).toBe(true);
        expect(await tasq.broker.size(config.queue)).toMatchObject({ ready: 0, delayed: 0, reserved: 0 });
        expect(runs().sort()).toEqual(jobs.map((_, i) => expect.stringMatching(new RegExp(`^job-${i} `))));
      } finally {
        await tasq.close();
        await cluster?.stop();
      }
    }, 180_000);
  },
);
