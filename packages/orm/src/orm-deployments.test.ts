/**
 * The deployment name (configuration `name`) reaches the tables through the plugin's context: two
 * deployments on one database never see each other's packages, results, schedules or pub/sub messages,
 * and the default deployment keeps the tables (and the rows) it had before deployments got tables of
 * their own.
 */
import { type BrokerPlugin, pluginContext } from '@tasq/core/backend';
import { readText, text, uniqueName } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import plugin, { createOrmBroker } from './index.js';
import type { OrmOptions } from './orm-options.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
  withPostgresClient,
} from './test-support/databases.js';

const skipReason = await requirePostgres();
const schema = uniqueSchema('deployments');
const folder = temporaryFolder('deployments');
const orm = plugin as BrokerPlugin<OrmOptions | undefined>;

afterAll(async () => {
  folder.remove();
  if (!skipReason) await dropSchema(schema);
});

const dialects: { label: string; options: OrmOptions; skip?: string | undefined }[] = [
  { label: 'SQLite file', options: { url: `sqlite:${folder.file('tasq.db')}` } },
  { label: 'PostgreSQL', options: { url: postgresUrl, schema }, skip: skipReason },
];

for (const { label, options, skip } of dialects) {
  describe.skipIf(skip !== undefined)(`orm deployments (${label})`, () => {
    it('a cluster named B sees nothing of what a client named A enqueued, saved or scheduled on the same queue', async () => {
      const a = pluginContext('A');
      const b = pluginContext('B');
      const [brokerA, brokerB] = [await orm.createBroker(options, a), await orm.createBroker(options, b)];
      const [resultsA, resultsB] = [
        await orm.createResultBackend!(options, a),
        await orm.createResultBackend!(options, b),
      ];
      const [schedulesA, schedulesB] = [
        await orm.createScheduleStore!(options, a),
        await orm.createScheduleStore!(options, b),
      ];
      const [pubsubA, pubsubB] = [await orm.createPubSub!(options, a), await orm.createPubSub!(options, b)];
      try {
        await brokerA.enqueue('default', [text('job of A')]);
        expect(await brokerB.reserve('default', { max: 10, leaseMs: 30_000, waitMs: 300 })).toEqual([]);
        expect((await brokerB.size('default')).ready).toBe(0);
        const [delivery] = await brokerA.reserve('default', { max: 10, leaseMs: 30_000, waitMs: 1000 });
        expect(readText(delivery!.body)).toBe('job of A');
        await brokerA.ack(delivery!);

        const now = Date.now();
        await resultsA.save({
          id: 'job-1',
          name: 'math.add',
          queue: 'default',
          status: 'success',
          result: 3,
          attempts: 1,
          enqueuedAt: now,
          startedAt: now,
          stoppedAt: now,
        });
        expect(await resultsB.get('job-1')).toBeUndefined();
        expect(await resultsB.claimOnce('chord-1')).toBe(true);
        expect(await resultsA.claimOnce('chord-1')).toBe(true);

        expect(await schedulesA.acquireLeadership('scheduler', 'cluster-a', 30_000)).toBe(true);
        expect(await schedulesB.acquireLeadership('scheduler', 'cluster-b', 30_000)).toBe(true);

        const heardByB: string[] = [];
        const channel = uniqueName('events');
        const subscription = await pubsubB.subscribe(channel, (message) => heardByB.push(readText(message)));
        await pubsubA.publish(channel, text('from A'));
        await pubsubB.publish(channel, text('from B'));
        const deadline = Date.now() + 5000;
        while (heardByB.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200));
        expect(heardByB).toEqual(['from B']);
        await subscription.unsubscribe();
      } finally {
        for (const closable of [
          brokerA,
          brokerB,
          resultsA,
          resultsB,
          schedulesA,
          schedulesB,
          pubsubA,
          pubsubB,
        ])
          await closable.close();
      }
    });

    it('the default deployment keeps its tables and the packages stored before deployments had tables of their own', async () => {
      const queue = uniqueName('upgrade');
      // What an earlier version stored: a broker made without a deployment name.
      const before = await createOrmBroker(options);
      await before.enqueue(queue, [text('stored before the upgrade')]);
      await before.close();
      const after = await orm.createBroker(options, pluginContext('default'));
      await (await orm.createBroker(options, pluginContext('A'))).close();
      await (await orm.createBroker(options, pluginContext('B'))).close();
      try {
        const [delivery] = await after.reserve(queue, { max: 1, leaseMs: 30_000, waitMs: 1000 });
        expect(readText(delivery!.body)).toBe('stored before the upgrade');
        await after.ack(delivery!);
      } finally {
        await after.close();
      }
      if (options.schema) {
        const tables = await withPostgresClient(async (client) =>
          (
            await client.query<{ table_name: string }>(
              "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE '%packages' ORDER BY 1",
              [options.schema],
            )
          ).rows.map((row) => row.table_name),
        );
        // The default deployment's table is the one it always had; A and B have their own.
        expect(tables).toEqual(['a__559aead0_packages', 'b__df7e70e5_packages', 'packages']);
      }
    });
  });
}
