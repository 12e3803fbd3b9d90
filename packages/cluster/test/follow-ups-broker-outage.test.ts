/**
 * A chain across a broker outage: the first link finishes while Redis is down, for longer than the
 * monitor retries sending the next link. The job is released instead of acked, runs again once Redis is
 * back, and that run sends the link: the chain completes. A Redis server of the test's own (durable, so a
 * restart keeps its queue) is killed and started again; the shared server is not touched.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { resolveConfig, Signature, Tasq } from '@tasq/core';
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

describe.skipIf(skipReason !== undefined)(
  `follow-ups across a broker outage${skipReason ? `: skipped: ${skipReason}` : ''}`,
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

    it('a finished link whose next link cannot be sent runs again, and the chain completes', async () => {
      redis = await PrivateRedis.start(folder.folder);
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
  },
);
