/**
 * A broker without pub/sub (as SQS and MongoDB here): clusters store their stats in the result backend at
 * each heartbeat, which is what `tasq monitor` reads; the event stream and remote control say plainly
 * that they need pub/sub.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CapabilityError, resolveConfig } from '@tasq/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findLiveClusters, readClusterStats, sendControl, subscribeEvents } from '../src/index.js';
import { cliPath, type Database, eventually, runCluster, sqliteDatabase, tasksModule } from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const brokerWithoutPubSub = fileURLToPath(new URL('./fixtures/no-pubsub-broker.mjs', import.meta.url));

describe('monitoring on a broker without pub/sub', () => {
  let database: Database;
  beforeAll(() => {
    database = sqliteDatabase();
  });
  afterAll(() => database.cleanup());

  it('stores cluster stats in the result backend and refuses events and control with a reason', async () => {
    const input = {
      brokerClass: brokerWithoutPubSub,
      brokerOptions: { url: `sqlite:${database.folder}/tasq.db` },
      tasks: [tasksModule],
      workers: 2,
      guardCycle: '100ms',
      secret: 'no-pubsub-secret',
    };
    const config = resolveConfig(input, { env: {} });
    const cluster = await runCluster(config, { heartbeatMs: 200 });
    try {
      await (await cluster.tasq.enqueueByName('test.add', [1, 2])).result({ timeout: 10_000 });
      const [snapshot] = await eventually(
        async () => {
          const stored = await readClusterStats(runtimeServicesOf(cluster.tasq).results, Date.now());
          return stored.length === 1 && stored[0]!.stats.succeeded === 1 ? stored : undefined;
        },
        5_000,
        'stored cluster stats',
      );
      expect(snapshot).toMatchObject({ cluster: cluster.identity, poolSize: 2, queues: [config.queue] });
      expect(snapshot!.workers.map((w) => w.pid).sort()).toEqual(
        cluster
          .workers()
          .map((w) => w.pid)
          .sort(),
      );
      expect(snapshot!.workers.every((w) => w.rssBytes > 0)).toBe(true);

      // `tasq info` lists the cluster from its stored stats, and not those stats among the job results.
      expect(await findLiveClusters(cluster.tasq, { waitMs: 100 })).toMatchObject({
        source: 'stored',
        clusters: [{ cluster: cluster.identity, poolSize: 2 }],
      });
      const configFile = path.join(database.folder, 'no-pubsub.config.json');
      writeFileSync(configFile, JSON.stringify(input));
      const run = spawnSync(process.execPath, [cliPath, 'info', '--json', '--config', configFile], {
        encoding: 'utf8',
        cwd: database.folder,
      });
      expect(run.status).toBe(0);
      const info = JSON.parse(run.stdout);
      expect(info.running.source).toBe('stored');
      expect(info.running.clusters.map((c: { cluster: string }) => c.cluster)).toEqual([cluster.identity]);
      expect(info.recent.successes.map((r: { name: string }) => r.name)).toEqual(['test.add']);

      await expect(subscribeEvents(config)).rejects.toThrow(CapabilityError);
      await expect(sendControl(config, { command: 'ping' })).rejects.toThrow(/has no pub\/sub/);
    } finally {
      await cluster.stop();
    }
  });
});
