/**
 * The cluster across broker outages, on a Redis server of the test's own (durable, so a restart keeps its
 * data) that is killed and started again; the shared server is not touched.
 *
 * - A chain whose first link finishes while Redis is down, for longer than the monitor retries sending
 *   the next link: the job is released instead of acked, runs again once Redis is back, and that run
 *   sends the link: the chain completes.
 * - Jobs (broker and results on Redis) that finish while Redis restarts: their saves fail and are tried
 *   again, so each job is saved and acked after running exactly once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Logger, resolveConfig, Signature, Tasq } from '@tasq/core';
import { requireService } from '@tasq/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterHandle } from '../src/index.js';
import {
  type Database,
  eventually,
  PrivateRedis,
  runCluster,
  sqliteDatabase,
  tasksModule,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const skipReason = await requireService(
  "redis-server (to run a Redis server of the test's own)",
  async () => {
    execFileSync('redis-server', ['--version']);
  },
);

const JOBS = 4;

describe.skipIf(skipReason !== undefined)(
  `a broker outage${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    let folder: Database | undefined;
    let redis: PrivateRedis | undefined;
    afterEach(async () => {
      await redis?.kill();
      await folder?.cleanup();
      redis = undefined;
      folder = undefined;
    });
    /** A Redis of this test's own, in a folder of its own. */
    const privateRedis = async () => {
      folder = sqliteDatabase();
      redis = await PrivateRedis.start(folder.folder);
      return { folder, redis };
    };

    it('a finished link whose next link cannot be sent runs again, and the chain completes', async () => {
      const { folder, redis } = await privateRedis();
      const config = resolveConfig(
        {
          redis: { url: redis.url },
          resultBackend: { sqlite: path.join(folder.folder, 'results.db') },
          tasks: [tasksModule],
          workers: 1,
          secret: 'outage-test-secret',
          guardCycle: '100ms',
          // Short deadlines, so the follow-up retries (five calls, about 4 s of pauses) run out quickly.
          callTimeout: '1s',
          // A lease that outlasts the 3 s link by 7 s while it cannot be extended: the link finishes with
          // its lease still its own, so its follow-ups are tried. (With the lease over, the run would not
          // be applied at all, and its next delivery would send them.)
          retry: '10s',
          scheduler: false,
        },
        { env: {} },
      );
      let cluster: ClusterHandle | undefined;
      const tasq = await Tasq.open(config);
      try {
        cluster = await runCluster(config);
        const releasesAttempted: string[] = [];
        cluster.events.on('settle-error', (event) => releasesAttempted.push(event.operation));
        const marks = path.join(folder.folder, 'marks');
        const chain = await tasq
          .chain([new Signature('test.mark', [marks, 'a', 3_000]), new Signature('test.concat', ['b'])])
          .enqueue();
        await eventually(() => existsSync(marks), 30_000, 'the first link to start');
        // Killed well inside the link's 3 s, however slow the machine: it cannot finish with Redis up.
        await redis.kill();
        // The link finishes, its follow-up cannot be sent, and the monitor gives up acking it: it releases.
        await eventually(
          () => releasesAttempted.includes('release'),
          60_000,
          'the release of the first link',
        );
        await redis.start();
        expect(await chain.result({ timeout: 60_000 })).toBe('ab');
        // The first link ran again to send the second. It may have run more than twice: its lease could
        // not be extended while Redis was down, so a delivery can also come back by expiry (at least once).
        expect(readFileSync(marks, 'utf8').trim().split('\n').length).toBeGreaterThanOrEqual(2);
      } finally {
        await tasq.close();
        await cluster?.stop();
      }
    }, 180_000);

    it('a save that fails while Redis restarts is retried: every job runs once and is acked', async () => {
      const { folder, redis } = await privateRedis();
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
        // A success is reported once its result is saved, before its ack: the acks follow.
        await eventually(
          async () => (await runtimeServicesOf(tasq).broker.size(config.queue)).reserved === 0,
          10_000,
          'every job to be acked',
        );
        expect(await runtimeServicesOf(tasq).broker.size(config.queue)).toMatchObject({
          ready: 0,
          delayed: 0,
          reserved: 0,
        });
        expect(runs().sort()).toEqual(jobs.map((_, i) => expect.stringMatching(new RegExp(`^job-${i} `))));
      } finally {
        await tasq.close();
        await cluster?.stop();
      }
    }, 180_000);
  },
);
