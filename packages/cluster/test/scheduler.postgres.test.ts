/**
 * The scheduler across real cluster processes on PostgreSQL: two clusters start together with the same
 * configured schedules (written once), race for 200 catch-up slots plus a schedule that fires every
 * second, and the leader is killed with SIGKILL mid-run. Every slot must be enqueued exactly once, and
 * the other cluster must take over within the lease.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, Tasq } from '@tasq/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  eventually,
  postgresDatabase,
  requirePostgres,
  sleep,
  tasksModule,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const runner = fileURLToPath(new URL('./fixtures/run-cluster.mjs', import.meta.url));
const skipReason = await requirePostgres();
const LEASE_MS = 2_000;
const TICK_MS = 250;
const CATCH_UP_SLOTS = 200;
const MINUTE = 60_000;

interface Running {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<void>;
}

function startClusterProcess(configFile: string): Running {
  const child = spawn(process.execPath, [runner, configFile, String(LEASE_MS), String(TICK_MS)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const complete = text.split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) if (line.trim()) lines.push(JSON.parse(line));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, lines, exited };
}

const said = (running: Running, message: string) => running.lines.find((line) => line.message === message);

describe.skipIf(skipReason !== undefined)(
  `scheduler across clusters on PostgreSQL ${skipReason ?? ''}`,
  () => {
    let database: Database;
    let client: Tasq;
    const clusters: Running[] = [];

    beforeAll(async () => {
      database = postgresDatabase();
    });
    afterAll(async () => {
      for (const running of clusters) running.child.kill('SIGKILL');
      await client?.close();
      await database?.cleanup();
    });

    it('writes configured schedules once, enqueues every slot exactly once, and survives a killed leader', async () => {
      const outQueue = `scheduled-${path.basename(database.folder).slice(-6)}`;
      // Whole minutes back, so the catch-up schedule has exactly CATCH_UP_SLOTS slots due at start.
      const start = Math.floor(Date.now() / MINUTE) * MINUTE - (CATCH_UP_SLOTS - 1) * MINUTE;
      const input = {
        ...database.broker,
        tasks: [tasksModule],
        secret: 'scheduler-test-secret',
        pool: 'inline' as const,
        workers: 1,
        queue: `idle-${path.basename(database.folder).slice(-6)}`,
        schedules: {
          'catch-up': {
            task: 'test.noop',
            kind: 'minutes' as const,
            minutes: 1,
            start: new Date(start).toISOString(),
            job: { queue: outQueue },
          },
          'every-second': { task: 'test.noop', cron: '* * * * * *', job: { queue: outQueue } },
        },
      };
      const configFile = path.join(database.folder, 'tasq.config.json');
      writeFileSync(configFile, JSON.stringify(input));
      // Opening a client first creates the schema, so the two clusters do not race to migrate it.
      client = await Tasq.open(resolveConfig(input, { env: {} }));

      clusters.push(startClusterProcess(configFile), startClusterProcess(configFile));
      await eventually(() => clusters.every((c) => said(c, 'cluster started')), 20_000, 'both clusters');

      // Written once: one cluster created both schedules, the other found them as configured.
      const stored = await (await runtimeServicesOf(client).schedules()).list();
      expect(stored.map((s) => s.name).sort()).toEqual(['catch-up', 'every-second']);
      const writers = clusters.filter((c) => said(c, 'schedules from the configuration written'));
      expect(writers).toHaveLength(1);
      expect(said(writers[0]!, 'schedules from the configuration written')).toMatchObject({
        created: 'catch-up,every-second',
      });

      const catchUpId = stored.find((s) => s.name === 'catch-up')!.id;
      const everySecondId = stored.find((s) => s.name === 'every-second')!.id;
      await eventually(
        async () => (await runtimeServicesOf(client).broker.size(outQueue)).ready >= CATCH_UP_SLOTS + 2,
        15_000,
        'the catch-up slots',
      );

      const leaders = clusters.filter((c) => said(c, 'scheduler leadership taken'));
      expect(leaders).toHaveLength(1);
      const leader = leaders[0]!;
      const follower = clusters.find((c) => c !== leader)!;
      leader.child.kill('SIGKILL');
      const killedAt = Date.now();
      await leader.exited;
      const taken = await eventually(() => said(follower, 'scheduler leadership taken'), 10_000, 'takeover');
      // The dead leader's lease runs out, and the follower's next tick takes the lock.
      expect((taken.at as number) - killedAt).toBeLessThan(LEASE_MS + TICK_MS + 1_000);

      await sleep(1_500);
      follower.child.kill('SIGTERM');
      await follower.exited;

      const slots = new Map<string, number[]>();
      for (;;) {
        const deliveries = await runtimeServicesOf(client).broker.reserve(outQueue, {
          max: 100,
          leaseMs: 30_000,
          waitMs: 0,
        });
        if (deliveries.length === 0) break;
        for (const delivery of deliveries) {
          const { id } = runtimeServicesOf(client).codec.decode(delivery.body);
          const match = /^schedule-(.+)-(\d+)$/.exec(id);
          expect(match, id).not.toBeNull();
          const list = slots.get(match![1]!) ?? [];
          list.push(Number(match![2]));
          slots.set(match![1]!, list);
          await runtimeServicesOf(client).broker.ack(delivery);
        }
      }
      // What the clusters warned of, shown with a failed expectation below: it says why a slot went astray.
      const warnings = JSON.stringify(
        clusters.flatMap((c) => c.lines.filter((line) => line.level !== 'info')),
        null,
        1,
      );
      // The 200 slots due at start, each once (one more when the test crossed a minute boundary).
      const catchUp = (slots.get(catchUpId) ?? []).sort((a, b) => a - b);
      expect(catchUp.length, warnings).toBeGreaterThanOrEqual(CATCH_UP_SLOTS);
      expect(catchUp, warnings).toEqual(Array.from({ length: catchUp.length }, (_, i) => start + i * MINUTE));

      // Every second from the first slot to the last, each once: slots missed during the takeover were
      // caught up by the new leader, none was sent twice.
      const everySecond = (slots.get(everySecondId) ?? []).sort((a, b) => a - b);
      expect(new Set(everySecond).size, warnings).toBe(everySecond.length);
      const first = everySecond[0]!;
      const last = everySecond.at(-1)!;
      expect(last - first).toBeGreaterThanOrEqual(3_000);
      expect(everySecond, warnings).toEqual(
        Array.from({ length: (last - first) / 1000 + 1 }, (_, i) => first + i * 1000),
      );
    });
  },
);
