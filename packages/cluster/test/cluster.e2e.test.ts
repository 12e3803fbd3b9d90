/**
 * End to end, on a real SQLite file and a real PostgreSQL schema: a cluster in this process (the
 * sentinel) with real worker processes, driven through the public client.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineTask } from '@tasq/core';
import { TaskPackageCodec, runtimeServicesOf } from '@tasq/core/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configFor,
  type Database,
  eventually,
  postgresDatabase,
  requirePostgres,
  runCluster,
  sqliteDatabase,
} from './support.js';

// Signatures for the fixtures' tasks, so canvases can be built here without importing worker code.
const add = defineTask('test.add', (a: number, b: number) => a + b);
const double = defineTask('test.double', (value: number) => value * 2);
const sum = defineTask('test.sum', (values: number[]) => values.reduce((t, v) => t + v, 0));
const concat = defineTask('test.concat', (previous: string, part: string) => `${previous}${part}`);
const stamp = defineTask('test.stamp', (_file: string) => null);
const writeTotal = defineTask('test.write-total', (_values: number[], _file: string) => null);
const mark = defineTask('test.mark', (_file: string, marker: number, _ms: number) => marker);

const postgresSkip = await requirePostgres();

const lines = (file: string) =>
  existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];

for (const dialect of ['sqlite', 'postgres'] as const) {
  const skip = dialect === 'postgres' ? postgresSkip : undefined;
  describe.skipIf(skip !== undefined)(`cluster on ${dialect}${skip ? ` (${skip})` : ''}`, () => {
    let database: Database;
    beforeAll(() => {
      database = dialect === 'sqlite' ? sqliteDatabase() : postgresDatabase();
    });
    afterAll(async () => {
      await database?.cleanup();
    });

    it('runs chains, groups and chords in order with their results', async () => {
      const cluster = await runCluster(configFor(database, { workers: 2, concurrency: 4, bulk: 10 }));
      try {
        const tasq = cluster.tasq;
        const chain = await tasq.chain([concat.s('a', 'b'), concat.s('c'), concat.s('d')]).enqueue();
        const group = await tasq.group([add.s(1, 2), add.s(3, 4), add.s(5, 6)]).enqueue();
        const chord = await tasq.chord([double.s(1), double.s(2), double.s(3)], sum.s()).enqueue();
        expect(await group.values({ timeout: 15_000 })).toEqual([3, 7, 11]);
        expect(await chord.result({ timeout: 15_000 })).toBe(12);
        // The chain's handle is its last link: the whole chain's result.
        expect(await chain.result({ timeout: 15_000 })).toBe('abcd');
        const links = await runtimeServicesOf(tasq).results.list({ name: 'test.concat', limit: 10 });
        expect(links.map((link) => link.result).sort()).toEqual(['ab', 'abc', 'abcd']);
        // A result is saved before its run is counted: the count may follow a moment later.
        await eventually(() => cluster.stats.succeeded === 3 + 3 + 3 + 1, 10_000, 'every run counted');
      } finally {
        await cluster.stop();
      }
    });

    it('puts every link of a chain enqueued with a group in the group, in chain order', async () => {
      const cluster = await runCluster(configFor(database, { workers: 1, concurrency: 2 }));
      try {
        const tasq = cluster.tasq;
        const group = `chain-group-${dialect}`;
        const chain = await tasq.chain([concat.s('a', 'b'), concat.s('c'), concat.s('d')]).enqueue({ group });
        expect(await chain.result({ timeout: 15_000 })).toBe('abcd');
        const members = await tasq.groupResults(group);
        expect(members.map((member) => member.result)).toEqual(['ab', 'abc', 'abcd']);
      } finally {
        await cluster.stop();
      }
    });

    it('fires a chord when no successes are stored (saveLimit -1): its members are kept for it', async () => {
      const cluster = await runCluster(configFor(database, { saveLimit: -1, workers: 1, concurrency: 4 }));
      try {
        const file = path.join(database.folder, `chord-total-${dialect}.txt`);
        const chord = await cluster.tasq
          .chord([double.s(1), double.s(2), double.s(3)], writeTotal.s(file))
          .enqueue();
        expect(await eventually(() => lines(file)[0], 15_000, 'the chord callback')).toBe('12');
        // Other successes stay unsaved, as saveLimit -1 says.
        const plain = await cluster.tasq.enqueue(add, 1, 1);
        await eventually(() => cluster.stats.succeeded >= 5, 15_000, 'the plain job');
        expect(await runtimeServicesOf(cluster.tasq).results.get(plain.id)).toBeUndefined();
        expect(await runtimeServicesOf(cluster.tasq).results.get(chord.id)).toBeUndefined();
      } finally {
        await cluster.stop();
      }
    });

    it('fires a chord whose members outlive the save limit: pruning keeps them until the callback is claimed', async () => {
      // One slot, members 700 ms apart: by the time the last one finishes, the once-a-second prune with
      // saveLimit 1 has run between members and would have deleted the earlier ones.
      const cluster = await runCluster(configFor(database, { saveLimit: 1, workers: 1, concurrency: 1 }));
      try {
        const marks = path.join(database.folder, `chord-pruned-marks-${dialect}.txt`);
        const file = path.join(database.folder, `chord-pruned-total-${dialect}.txt`);
        await cluster.tasq
          .chord(
            [1, 2, 3, 4].map((marker) => mark.s(marks, marker, 700)),
            writeTotal.s(file),
          )
          .enqueue();
        expect(await eventually(() => lines(file)[0], 20_000, 'the chord callback')).toBe('10');
        // Claimed: its members are ordinary successes again, pruned down to the limit.
        await eventually(
          async () => {
            await cluster.tasq.enqueue(add, 1, 1);
            return (
              (await runtimeServicesOf(cluster.tasq).results.list({ name: 'test.mark', limit: 10 }))
                .length === 0
            );
          },
          10_000,
          'the members pruned',
        );
      } finally {
        await cluster.stop();
      }
    });

    it('fires a chord whose members outlive `cached`: their time to live waits for the callback', async () => {
      // Members 700 ms apart with a 1 s time to live: the first has expired by the time the third ends.
      const cluster = await runCluster(configFor(database, { cached: 1, workers: 1, concurrency: 1 }));
      try {
        const marks = path.join(database.folder, `chord-cached-marks-${dialect}.txt`);
        const file = path.join(database.folder, `chord-cached-total-${dialect}.txt`);
        const group = `chord-cached-${dialect}-${Date.now()}`;
        await cluster.tasq
          .chord(
            [1, 2, 3].map((marker) => mark.s(marks, marker, 700)),
            writeTotal.s(file),
          )
          .enqueue({ group });
        expect(await eventually(() => lines(file)[0], 20_000, 'the chord callback')).toBe('6');
        // Claimed: the members' time to live applies again.
        await eventually(
          async () => (await runtimeServicesOf(cluster.tasq).results.group(group)).length === 0,
          10_000,
          'the members expired',
        );
      } finally {
        await cluster.stop();
      }
    });

    it('kills a task past its hard timeout, replaces the worker and counts the attempt', async () => {
      const cluster = await runCluster(
        configFor(database, { timeout: '400ms', retry: '5s', maxAttempts: 1 }),
      );
      try {
        const [firstWorker] = cluster.workers();
        const job = await cluster.tasq.enqueueByName('test.hang', [5_000]);
        const outcome = await job.outcome(10_000);
        expect(outcome?.status).toBe('failure');
        expect(outcome?.error?.name).toBe('TaskTimeoutError');
        expect(outcome?.attempts).toBe(1);
        expect(cluster.stats.timedOut).toBe(1);
        const after = await cluster.tasq.enqueueByName('test.pid', []);
        const pid = await after.result({ timeout: 10_000 });
        expect(pid).not.toBe(firstWorker?.pid);
        // The result is saved before the delivery is dead-lettered: wait for that second step.
        await eventually(
          async () => (await runtimeServicesOf(cluster.tasq).broker.size(cluster.config.queue)).dead === 1,
          5_000,
          'the dead letter',
        );
      } finally {
        await cluster.stop();
      }
    });

    it('aborts ctx.signal at the soft timeout and lets the task clean up', async () => {
      const cluster = await runCluster(
        configFor(database, { softTimeout: '200ms', timeout: '3s', retry: '10s' }),
      );
      try {
        const job = await cluster.tasq.enqueueByName('test.soft', [5_000]);
        expect(await job.result({ timeout: 10_000 })).toMatch(/^aborted: soft timeout of 200 ms/);
        expect(cluster.stats.timedOut).toBe(0);
      } finally {
        await cluster.stop();
      }
    });

    it("applies a task's own timeout and maxAttempts to a package enqueued by name without them", async () => {
      // The configuration allows endless attempts and no timeout; the tasks' definitions (in the workers'
      // module only) say 400 ms and one attempt.
      const cluster = await runCluster(configFor(database, { retry: '5s', maxAttempts: 0 }));
      try {
        const hung = await cluster.tasq.enqueueByName('test.bounded', [5_000]);
        const failing = await cluster.tasq.enqueueByName('test.single-attempt', []);
        // What the package carries wins over the definition.
        const allowed = await cluster.tasq.enqueueByName('test.bounded', [600], { timeout: '3s' });
        const outcome = await hung.outcome(10_000);
        expect(outcome?.error?.name).toBe('TaskTimeoutError');
        expect((await failing.outcome(10_000))?.error?.message).toBe(
          'fails; its definition allows one attempt',
        );
        expect(await allowed.result({ timeout: 10_000 })).toBe('finished');
        // Both failures were final: dead-lettered at once, not released for another attempt.
        await eventually(
          async () => (await runtimeServicesOf(cluster.tasq).broker.size(cluster.config.queue)).dead === 2,
          5_000,
          'the dead letters',
        );
        expect(cluster.stats.released).toBe(0);
        expect(cluster.stats.timedOut).toBe(1);
      } finally {
        await cluster.stop();
      }
    });

    it('recycles a worker after `recycle` tasks and after passing maxRss', async () => {
      const cluster = await runCluster(configFor(database, { recycle: 2, maxRss: '1GB' }));
      try {
        const pids: number[] = [];
        for (let i = 0; i < 5; i++) {
          pids.push(
            (await (await cluster.tasq.enqueueByName('test.pid', [])).result({ timeout: 10_000 })) as number,
          );
        }
        expect(new Set(pids).size).toBe(3);
        expect(cluster.stats.workersRecycled).toBeGreaterThanOrEqual(2);
      } finally {
        await cluster.stop();
      }
      const memory = await runCluster(configFor(database, { maxRss: '100MB' }));
      try {
        const recycled = memory.events.once('worker-recycled');
        const before = memory.workers()[0]?.pid;
        // 80 MiB on top of a worker of about 60: past maxRss (100 MB) by a wide margin, and as far below
        // the hard ceiling (2 × maxRss), which a worker on a loaded machine passed holding 120 MiB.
        await (await memory.tasq.enqueueByName('test.hog', [80, 10])).result({ timeout: 10_000 });
        expect((await recycled).reason).toBe('max-rss');
        const after = await (await memory.tasq.enqueueByName('test.pid', [])).result({ timeout: 10_000 });
        expect(after).not.toBe(before);
      } finally {
        await memory.stop();
      }
    });

    it('kills a worker that passes the hard memory ceiling while its task runs', async () => {
      const cluster = await runCluster(configFor(database, { maxRss: '64MB', maxAttempts: 1, retry: '10s' }));
      try {
        const job = await cluster.tasq.enqueueByName('test.hog', [200, 5_000]);
        const outcome = await job.outcome(15_000);
        expect(outcome?.error?.name).toBe('WorkerMemoryError');
        expect(await (await cluster.tasq.enqueueByName('test.add', [2, 2])).result({ timeout: 10_000 })).toBe(
          4,
        );
      } finally {
        await cluster.stop();
      }
    });

    it('runs a task again after kill -9 of its worker, and stores one result', async () => {
      const cluster = await runCluster(configFor(database, { retry: '10s' }));
      try {
        const file = path.join(database.folder, `marks-${dialect}-kill.txt`);
        const job = await cluster.tasq.enqueueByName('test.mark', [file, 'run', 800]);
        await eventually(() => lines(file).length === 1, 10_000, 'the first run');
        const victim = cluster.workers()[0]!;
        process.kill(victim.pid!, 'SIGKILL');
        const outcome = await job.outcome(15_000);
        expect(outcome?.status).toBe('success');
        expect(outcome?.attempts).toBe(2);
        expect(lines(file)).toHaveLength(2);
        const stored = await runtimeServicesOf(cluster.tasq).results.list({ name: 'test.mark', limit: 10 });
        expect(stored.filter((r) => r.id === job.id)).toHaveLength(1);
        expect(cluster.stats.workersCrashed).toBe(1);
      } finally {
        await cluster.stop();
      }
    });

    it('dead-letters poison packages with the reason and keeps serving', async () => {
      const cluster = await runCluster(configFor(database, {}));
      try {
        const { tasq, config } = cluster;
        const forged = new TaskPackageCodec({ secret: 'someone-else' }).encode({
          id: 'forged-1',
          name: 'test.add',
          args: [1, 1],
          queue: config.queue,
          enqueuedAt: Date.now(),
        });
        const rejected: string[] = [];
        cluster.events.on('package-rejected', (event) => rejected.push(event.reason));
        const tampered = runtimeServicesOf(tasq).codec.encode({
          id: 'tampered-1',
          name: 'test.add',
          args: [1, 1],
          queue: config.queue,
          enqueuedAt: Date.now(),
        });
        tampered[tampered.length - 1]! ^= 0xff;
        await runtimeServicesOf(tasq).broker.enqueue(config.queue, [
          new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]),
          forged,
          tampered,
        ]);
        const unknown = await tasq.enqueueByName('no.such.task', []);
        const good = await tasq.enqueueByName('test.add', [20, 22]);
        expect(await good.result({ timeout: 10_000 })).toBe(42);
        const unknownOutcome = await unknown.outcome(10_000);
        expect(unknownOutcome?.error?.name).toBe('UnknownTaskError');
        await eventually(
          async () => (await runtimeServicesOf(tasq).broker.size(config.queue)).dead === 4,
          10_000,
          'four dead letters',
        );
        expect(cluster.stats.rejected).toBe(3);
        expect(rejected.some((reason) => reason.includes('bad-signature'))).toBe(true);
        expect(rejected.some((reason) => reason.includes('unknown-key'))).toBe(true);
        expect(rejected.some((reason) => /truncated|unknown-format-version/.test(reason))).toBe(true);
        expect(cluster.stats.deadLettered).toBe(1);
      } finally {
        await cluster.stop();
      }
    });

    it('sends back a package that arrives before its eta, and runs it on time', async () => {
      const cluster = await runCluster(configFor(database, {}));
      try {
        const { tasq, config } = cluster;
        const released = cluster.events.once('task-released');
        const eta = Date.now() + 1_200;
        // Enqueued without a broker delay, as a broker with a shorter delay maximum would hand it out.
        const body = runtimeServicesOf(tasq).codec.encode({
          id: `early-${dialect}`,
          name: 'test.add',
          args: [1, 2],
          queue: config.queue,
          enqueuedAt: Date.now(),
          eta,
        });
        await runtimeServicesOf(tasq).broker.enqueue(config.queue, [body]);
        const outcome = await tasq.job(`early-${dialect}`).outcome(10_000);
        expect(outcome?.result).toBe(3);
        expect(outcome!.startedAt).toBeGreaterThanOrEqual(eta);
        expect((await released).reason).toBe('not due yet');
      } finally {
        await cluster.stop();
      }
    });

    it('honours a task rate limit', async () => {
      const cluster = await runCluster(
        configFor(database, { workers: 1, concurrency: 10, bulk: 20, rateLimits: { 'test.stamp': '10/s' } }),
      );
      try {
        const file = path.join(database.folder, `stamps-${dialect}.txt`);
        const jobs = await cluster.tasq.enqueueMany(
          stamp,
          Array.from({ length: 25 }, () => [file] as [string]),
        );
        for (const job of jobs) await job.result({ timeout: 15_000 });
        const stamps = lines(file)
          .map(Number)
          .sort((a, b) => a - b);
        expect(stamps).toHaveLength(25);
        // A full bucket of 10 at once, then 10 per second: the 25th cannot start before 1.5 s after the
        // first. The stamps are taken in the worker, where the first run of a fresh process can start a few
        // hundred milliseconds after its token on a starved machine, so the bound leaves that much slack;
        // without the limit all 25 would start within a few tens of milliseconds.
        expect(stamps[24]! - stamps[0]!).toBeGreaterThanOrEqual(1_200);
        for (let i = 20; i < 25; i++) expect(stamps[i]! - stamps[i - 20]!).toBeGreaterThanOrEqual(900);
      } finally {
        await cluster.stop();
      }
    });

    it('extends the lease of a task longer than `retry`, so it runs once', async () => {
      // A 2 s lease leaves each extension a second of slack, even on a starved machine; the task runs
      // two and a half leases.
      const cluster = await runCluster(configFor(database, { workers: 2, retry: '2s' }));
      try {
        const file = path.join(database.folder, `marks-${dialect}-lease.txt`);
        const job = await cluster.tasq.enqueueByName('test.mark', [file, 'long', 5_000]);
        expect(await job.result({ timeout: 30_000 })).toBe('long');
        expect(lines(file)).toHaveLength(1);
        expect(cluster.stats.leasesExtended).toBeGreaterThan(0);
        expect(cluster.stats.lateCompletions).toBe(0);
      } finally {
        await cluster.stop();
      }
    });

    it("retries with the task's own policy, then dead-letters a task that crashes its worker every time", async () => {
      const cluster = await runCluster(configFor(database, { maxAttempts: 2, retry: '10s' }));
      try {
        const file = path.join(database.folder, `flaky-${dialect}.txt`);
        const flaky = await cluster.tasq.enqueueByName('test.flaky', [file, 2], {
          retry: { attempts: 3, backoff: { type: 'fixed', delayMs: 100 } },
        });
        expect(await flaky.result({ timeout: 10_000 })).toBe('succeeded on call 3');
        expect(cluster.stats.retried).toBe(2);

        const crash = await cluster.tasq.enqueueByName('test.crash', []);
        const outcome = await crash.outcome(15_000);
        expect(outcome?.error?.name).toBe('WorkerLostError');
        expect(outcome?.attempts).toBe(2);
        // The result is saved before the delivery is dead-lettered: wait for that second step.
        await eventually(
          async () => (await runtimeServicesOf(cluster.tasq).broker.size(cluster.config.queue)).dead === 1,
          5_000,
          'the dead letter',
        );
        expect(await (await cluster.tasq.enqueueByName('test.add', [1, 1])).result({ timeout: 10_000 })).toBe(
          2,
        );
      } finally {
        await cluster.stop();
      }
    });
  });
}
