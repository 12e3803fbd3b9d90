/**
 * A client whose secret differs from the cluster's: its jobs are dead-lettered unread, its waits time out
 * with a message that says what to check, and `tasq check` names the cluster whose key differs — over a
 * signed ping where the broker has pub/sub (SQLite, PostgreSQL, Redis), from the key ids clusters store
 * with their stats where it has none. Only key ids are compared; no key is ever sent.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ResultTimeoutError, resolveConfig, Tasq, type TasqConfigInput } from '@tasq/core';
import { keyIdOf, runtimeServicesOf } from '@tasq/core/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cliPath,
  type Database,
  deleteRedisPrefix,
  eventually,
  postgresDatabase,
  redisUrl,
  requirePostgres,
  requireRedis,
  runCluster,
  sqliteDatabase,
  tasksModule,
} from './support.js';

const postgresSkip = await requirePostgres();
const redisSkip = await requireRedis();
const brokerWithoutPubSub = fileURLToPath(new URL('./fixtures/no-pubsub-broker.mjs', import.meta.url));
const CLUSTER_SECRET = 'the-cluster-secret';
const OTHER_SECRET = 'a-different-secret';

/** Each broker: where the test's data lives (its own SQLite folder, PostgreSQL schema or Redis prefix). */
const setups: {
  label: string;
  skip?: string | undefined;
  database: () => Database;
  broker: (database: Database, prefix: string) => TasqConfigInput;
  /** No pub/sub: clusters store their key ids with their stats. */
  stored?: boolean;
}[] = [
  { label: 'SQLite', database: sqliteDatabase, broker: (database) => database.broker },
  {
    label: 'PostgreSQL',
    skip: postgresSkip,
    database: postgresDatabase,
    broker: (database) => database.broker,
  },
  {
    label: 'Redis',
    skip: redisSkip,
    database: sqliteDatabase,
    broker: (_database, prefix) => ({ redis: { url: redisUrl, prefix } }),
  },
  {
    label: 'a broker without pub/sub',
    database: sqliteDatabase,
    broker: (database) => ({
      brokerClass: brokerWithoutPubSub,
      brokerOptions: { url: `sqlite:${database.folder}/tasq.db` },
    }),
    stored: true,
  },
];

for (const setup of setups) {
  const title = `secrets that differ, on ${setup.label}${setup.skip ? ` (${setup.skip})` : ''}`;
  describe.skipIf(setup.skip !== undefined)(title, () => {
    let database: Database;
    const prefix = `tasq-key-check-${randomBytes(4).toString('hex')}`;
    beforeAll(() => {
      database = setup.database();
    });
    afterAll(async () => {
      if (setup.label === 'Redis') await deleteRedisPrefix(prefix);
      await database.cleanup();
    });

    it('times out naming what to check, and tasq check names the cluster whose key differs', async () => {
      const input = (secret: string): TasqConfigInput => ({
        ...setup.broker(database, prefix),
        name: prefix,
        tasks: [tasksModule],
        workers: 1,
        guardCycle: '100ms',
        secret,
      });
      const cluster = await runCluster(resolveConfig(input(CLUSTER_SECRET), { env: {} }), {
        heartbeatMs: 200,
      });
      const client = await Tasq.open(resolveConfig(input(OTHER_SECRET), { env: {} }));
      // Not spawnSync: the cluster that answers runs in this process and must keep running meanwhile.
      const tasq = (command: string[], secret: string) => {
        const file = path.join(database.folder, `${secret}.json`);
        writeFileSync(file, JSON.stringify(input(secret)));
        return new Promise<{ code: number; out: string }>((resolve) => {
          const args = [cliPath, ...command, '--config', file];
          execFile(process.execPath, args, { cwd: database.folder }, (error, stdout) =>
            resolve({ code: error ? Number(error.code) : 0, out: stdout }),
          );
        });
      };
      const check = (secret: string) => tasq(['check'], secret);
      try {
        const job = await client.enqueueByName('test.add', [1, 2]);
        const error = await job.result({ timeout: 1_500 }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ResultTimeoutError);
        const message = (error as Error).message;
        expect(message).toContain(
          `check that a cluster of deployment "${prefix}" consumes its queue "default"`,
        );
        expect(message).toContain("and that it has this application's secret");
        // Nothing ran and nothing is lost: the cluster kept the job aside, unread.
        const deadLettered = async () => (await runtimeServicesOf(client).broker.size('default')).dead === 1;
        expect(await eventually(deadLettered, 10_000, 'the job to be dead-lettered')).toBe(true);

        // Without pub/sub, the cluster's stats must have been stored once before they can be compared.
        const differs = async () => /problem: cluster/.test((await check(OTHER_SECRET)).out);
        if (setup.stored) await eventually(differs, 10_000, 'the stored stats');
        const other = await check(OTHER_SECRET);
        expect(other.code).toBe(1);
        expect(other.out).toContain(
          `problem: cluster ${cluster.identity} does not have this configuration's key ` +
            `(key id ${keyIdOf(OTHER_SECRET)}; the cluster has key id ${keyIdOf(CLUSTER_SECRET)}; `,
        );
        expect(other.out).toMatch(
          setup.stored ? /no pub\/sub on this broker: the key ids clusters stored/ : /a signed ping/,
        );
        expect(other.out).not.toContain(CLUSTER_SECRET);
        const same = await check(CLUSTER_SECRET);
        expect(same.code).toBe(0);
        expect(same.out).toContain(
          `ok: cluster ${cluster.identity} has this configuration's key (key id ${keyIdOf(CLUSTER_SECRET)}; `,
        );
        if (!setup.stored) {
          // Remote control says it too, instead of "no cluster answered".
          const ping = await tasq(['control', 'ping', '--timeout', '1s'], OTHER_SECRET);
          expect(ping.code).toBe(1);
          expect(ping.out.trim()).toBe(
            `${cluster.identity}: error: cannot verify this request: it has key id ${keyIdOf(CLUSTER_SECRET)}, ` +
              `this configuration signs with ${keyIdOf(OTHER_SECRET)} (the secrets differ)`,
          );
        }
      } finally {
        await client.close();
        await cluster.stop();
      }
    });
  });
}
