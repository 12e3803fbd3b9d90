import {
  BrokerConnectionError,
  BrokerError,
  systemClock,
  silentLogger,
  type TaskResult,
} from '@tasq/core/backend';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import plugin from './index.js';
import { RedisBroker } from './redis-broker.js';
import { RedisResultBackend } from './redis-result-backend.js';
import { RedisScheduleStore } from './redis-schedule-store.js';
import { RedisProcess } from './test-support/redis-process.js';
import { deleteKeys, REDIS_URL, redisSkipReason, uniquePrefix } from './test-support/redis-server.js';

const skipReason = await redisSkipReason();
const prefix = uniquePrefix('results');
const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});
afterAll(async () => {
  if (!skipReason) await deleteKeys(prefix);
});

let sequence = 0;
function outcome(overrides: Partial<TaskResult> = {}): TaskResult {
  sequence += 1;
  const now = Date.now();
  return {
    id: `${now.toString(36)}-${String(sequence).padStart(6, '0')}`,
    name: 'reports.build',
    queue: 'default',
    status: 'success',
    result: { rows: 3 },
    attempts: 1,
    enqueuedAt: now - 3,
    startedAt: now - 2,
    stoppedAt: now - 1,
    ...overrides,
  };
}

describe.skipIf(skipReason !== undefined)(
  `redis result backend${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it('expires results after `cached` seconds, and expired ones drop out of list and group', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-ttl`, cached: 0.5 });
      opened.push(backend);
      const saved = outcome({ group: 'g', groupIndex: 0 });
      await backend.save(saved);
      expect(await backend.get(saved.id)).toEqual(saved);
      const inspector = new Redis(REDIS_URL);
      opened.push({ close: () => inspector.quit() });
      const ttl = await inspector.pttl(`${prefix}-ttl:{results}:result:${saved.id}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(500);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(await backend.get(saved.id)).toBeUndefined();
      expect(await backend.list({ limit: 10 })).toEqual([]);
      expect(await backend.group('g')).toEqual([]);
      expect(await inspector.zcard(`${prefix}-ttl:{results}:index:status:success`)).toBe(0);
    });

    it('per-group pruning also counts the ungrouped successes saved before their index existed', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-upgrade` });
      opened.push(backend);
      const inspector = new Redis(REDIS_URL);
      opened.push({ close: () => inspector.quit() });
      const older = [outcome(), outcome(), outcome()];
      for (const saved of older) await backend.save(saved);
      // What an earlier version left: the same results, without the ungrouped index.
      await inspector.del(
        `${prefix}-upgrade:{results}:index:status:success:ungrouped`,
        `${prefix}-upgrade:{results}:ungrouped-indexed`,
      );
      const newer = outcome();
      await backend.save(newer);
      expect(await backend.prune({ saveLimit: 2, per: 'group' })).toBe(2);
      expect((await backend.list({ limit: 10 })).map((r) => r.id)).toEqual([newer.id, older[2]!.id]);
    });

    it('keeps the ungrouped index only once per-group pruning is used, and counts by it from then on', async () => {
      const base = `${prefix}-lazy-ungrouped:{results}:`;
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-lazy-ungrouped` });
      opened.push(backend);
      const inspector = new Redis(REDIS_URL);
      opened.push({ close: () => inspector.quit() });
      const first = [outcome(), outcome(), outcome(), outcome({ group: 'g', groupIndex: 0 })];
      for (const saved of first) await backend.save(saved);
      // Pruning over all results neither needs nor builds it.
      expect(await backend.prune({ saveLimit: 10 })).toBe(0);
      expect(await inspector.exists(`${base}index:status:success:ungrouped`)).toBe(0);

      expect(await backend.prune({ saveLimit: 2, per: 'group' })).toBe(1);
      expect(await inspector.zcard(`${base}index:status:success:ungrouped`)).toBe(2);
      const later = [outcome(), outcome()];
      for (const saved of later) await backend.save(saved);
      expect(await inspector.zcard(`${base}index:status:success:ungrouped`)).toBe(4);
      expect(await backend.prune({ saveLimit: 2, per: 'group' })).toBe(2);
      expect((await backend.list({ limit: 10 })).map((r) => r.id)).toEqual([
        later[1]!.id,
        later[0]!.id,
        first[3]!.id,
      ]);
      expect(await inspector.zcard(`${base}index:status:success:ungrouped`)).toBe(2);
    });

    it('forgets a held result once its claim is taken, so later prunes read only what they delete', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-held` });
      opened.push(backend);
      const inspector = new Redis(REDIS_URL);
      opened.push({ close: () => inspector.quit() });
      const heldSet = `${prefix}-held:{results}:held`;
      const members = [0, 1].map((index) =>
        outcome({ group: 'c', groupIndex: index, keepUntilClaimed: 'chord:c' }),
      );
      const others = [outcome(), outcome(), outcome()];
      for (const saved of [...members, ...others]) await backend.save(saved);
      expect((await inspector.smembers(heldSet)).sort()).toEqual(members.map((m) => m.id).sort());

      expect(await backend.prune({ saveLimit: 1 })).toBe(2);
      expect(await inspector.scard(heldSet)).toBe(2);
      expect(await inspector.scard(`${prefix}-held:{results}:held-by:chord:c`)).toBe(2);
      expect(await backend.claimOnce('chord:c')).toBe(true);
      expect(await inspector.exists(`${prefix}-held:{results}:held-by:chord:c`)).toBe(0);
      // The prune that sees the claim taken drops the bookkeeping and prunes the members like any success.
      expect(await backend.prune({ saveLimit: 1 })).toBe(2);
      expect(await inspector.exists(heldSet)).toBe(0);
      expect((await backend.list({ limit: 10 })).map((r) => r.id)).toEqual([others[2]!.id]);
    });

    it('a foreign message on a result channel is ignored, and the waiter still gets the real save', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-foreign` });
      opened.push(backend);
      const saved = outcome({ result: 'real' });
      const waiting = backend.wait(saved.id, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const publisher = new Redis(REDIS_URL);
      opened.push({ close: () => publisher.quit() });
      expect(await publisher.publish(`${prefix}-foreign:{results}:saved:${saved.id}`, 'not json {')).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await backend.save(saved);
      expect((await waiting)?.result).toBe('real');
    });

    it('lists by name and status together', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-list` });
      opened.push(backend);
      const failure = outcome({
        status: 'failure',
        result: undefined,
        error: { name: 'Error', message: 'no' },
      });
      const other = outcome({
        name: 'email.send',
        status: 'failure',
        result: undefined,
        error: { name: 'Error', message: 'x' },
      });
      const success = outcome();
      for (const item of [failure, other, success]) await backend.save(item);
      expect(
        (await backend.list({ name: 'reports.build', status: 'failure', limit: 10 })).map((r) => r.id),
      ).toEqual([failure.id]);
      expect((await backend.list({ name: 'reports.build', limit: 10 })).map((r) => r.id)).toEqual([
        success.id,
        failure.id,
      ]);
    });

    it('refuses a non-positive `cached` and a result without a status', async () => {
      expect(() => new RedisResultBackend({ connection: REDIS_URL, prefix, cached: 0 })).toThrow(
        /`cached` must be a positive number of seconds/,
      );
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix });
      opened.push(backend);
      await expect(backend.save({ ...outcome(), status: 'done' as 'success' })).rejects.toThrow(
        /status must be "success" or "failure"/,
      );
    });

    it('the plugin builds a broker, result backend and schedule store from a URL, { url } or { connection }', async () => {
      const context = { deployment: 'test', clock: systemClock, logger: silentLogger };
      const options = { connection: REDIS_URL, prefix: `${prefix}-plugin` };
      const broker = await plugin.createBroker(options, context);
      const results = await plugin.createResultBackend!(REDIS_URL, context);
      const fromShorthand = await plugin.createScheduleStore!(
        { url: REDIS_URL },
        { ...context, deployment: 'default' },
      );
      opened.push(fromShorthand);
      const schedules = await plugin.createScheduleStore!(options, context);
      opened.push(broker, results, schedules);
      expect(plugin.name).toBe('redis');
      expect(broker).toBeInstanceOf(RedisBroker);
      expect(results).toBeInstanceOf(RedisResultBackend);
      expect(schedules).toBeInstanceOf(RedisScheduleStore);
      // The deployment name follows the prefix (the default one, or the one given), except for "default".
      expect((results as RedisResultBackend).prefix).toBe('tasq:test');
      expect((fromShorthand as RedisScheduleStore).prefix).toBe('tasq');
      expect((broker as RedisBroker).prefix).toBe(`${prefix}-plugin:test`);
      await broker.enqueue('plugin', [new Uint8Array([1])]);
      expect((await broker.size('plugin')).ready).toBe(1);
      expect(await broker.purge('plugin')).toBe(1);
    });
  },
);

describe.skipIf(skipReason !== undefined)(
  `redis result backend: batched saves${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it('saves issued together go out as one script call, each stored, indexed and given its time to live', async () => {
      // A server of its own, so INFO commandstats counts only this test's commands.
      const server = await RedisProcess.start();
      opened.push({ close: () => server.stop() });
      const backend = new RedisResultBackend({ connection: server.url, prefix: 'batch', cached: 60 });
      opened.push(backend);
      const inspector = new Redis(server.url);
      opened.push({ close: () => inspector.quit() });
      const saved = Array.from({ length: 300 }, (_, index) => outcome({ group: 'g', groupIndex: index }));
      await inspector.config('RESETSTAT');
      await Promise.all(saved.map((item) => backend.save(item)));
      const stats = await inspector.info('commandstats');
      const calls = (command: string) =>
        Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      // One EVALSHA for the 300 saves (plus one EVAL the first time the server lacks the script).
      expect(calls('evalsha')).toBe(1);
      expect(calls('eval')).toBeLessThanOrEqual(1);
      expect(calls('publish')).toBe(300);
      expect(await backend.get(saved[123]!.id)).toEqual(saved[123]);
      expect((await backend.group('g')).map((item) => item.id)).toEqual(saved.map((item) => item.id));
      expect(await backend.list({ limit: 1000 })).toHaveLength(300);
      for (const item of [saved[0]!, saved[299]!]) {
        const ttl = await inspector.pttl(`batch:{results}:result:${item.id}`);
        expect(ttl).toBeGreaterThan(50_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
    });

    it('the last save of an id wins within one batch, and its earlier indexes are dropped', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-last` });
      opened.push(backend);
      const first = outcome({
        group: 'old',
        groupIndex: 0,
        status: 'failure',
        result: undefined,
        error: { name: 'Error', message: 'first' },
      });
      const second: TaskResult = {
        ...first,
        name: 'email.send',
        status: 'success',
        result: 'second',
        error: undefined,
        group: 'new',
        groupIndex: 1,
      };
      const waiting = backend.wait(first.id, 10_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const other = outcome();
      await Promise.all([backend.save(first), backend.save(other), backend.save(second)]);
      expect(await backend.get(first.id)).toEqual(second);
      expect(await waiting).toEqual(second);
      expect(await backend.group('old')).toEqual([]);
      expect((await backend.group('new')).map((item) => item.id)).toEqual([first.id]);
      expect(await backend.list({ name: 'reports.build', limit: 10 })).toEqual([other]);
      expect(await backend.list({ status: 'failure', limit: 10 })).toEqual([]);
      expect(await backend.list({ name: 'email.send', limit: 10 })).toEqual([second]);
      expect(await backend.get(other.id)).toEqual(other);
    });

    it('wakes a waiter for every result saved in one batch', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-wake` });
      opened.push(backend);
      const saved = Array.from({ length: 40 }, (_, index) => outcome({ result: index }));
      const waits = saved.map((item) => backend.wait(item.id, 10_000));
      // Let every waiter subscribe and find nothing stored, so only the published saves can wake them.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await Promise.all(saved.map((item) => backend.save(item)));
      expect(await Promise.all(waits)).toEqual(saved);
    });

    it('a result whose key holds something else fails alone; the rest of the batch is stored', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-conflict` });
      opened.push(backend);
      const inspector = new Redis(REDIS_URL);
      opened.push({ close: () => inspector.quit() });
      const [before, taken, after] = [outcome(), outcome(), outcome()];
      await inspector.set(`${prefix}-conflict:{results}:result:${taken.id}`, 'not a result');
      const settled = await Promise.allSettled([
        backend.save(before),
        backend.save(taken),
        backend.save(after),
        backend.save({ ...outcome(), group: 'g', groupIndex: Number.NaN }),
      ]);
      expect(settled.map((item) => item.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
      const refused = (settled[1] as PromiseRejectedResult).reason;
      expect(refused).toBeInstanceOf(BrokerError);
      expect(refused.message).toMatch(new RegExp(`${taken.id}.*not a tasq result`));
      expect((settled[3] as PromiseRejectedResult).reason.message).toMatch(/groupIndex must be a number/);
      expect(await inspector.get(`${prefix}-conflict:{results}:result:${taken.id}`)).toBe('not a result');
      expect(await backend.get(before.id)).toEqual(before);
      expect(await backend.get(after.id)).toEqual(after);
      expect((await backend.list({ limit: 10 })).map((item) => item.id)).toEqual([after.id, before.id]);
    });

    it('every save of a batch the server never answered rejects with a retryable BrokerConnectionError', async () => {
      const server = await RedisProcess.start();
      opened.push({ close: () => server.stop() });
      const client = new Redis(server.url, { maxRetriesPerRequest: 0 });
      client.on('error', () => undefined);
      opened.push({ close: async () => client.disconnect() });
      const backend = new RedisResultBackend({ connection: client, prefix: 'gone' });
      opened.push(backend);
      await backend.save(outcome());
      await server.kill();
      const settled = await Promise.allSettled(
        [outcome(), outcome(), outcome()].map((item) => backend.save(item)),
      );
      for (const item of settled) {
        expect(item.status).toBe('rejected');
        expect((item as PromiseRejectedResult).reason).toBeInstanceOf(BrokerConnectionError);
        expect((item as PromiseRejectedResult).reason.retryable).toBe(true);
      }
    });

    it('saves issued just before close are stored before the connection closes', async () => {
      const backend = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-close` });
      const saved = [outcome(), outcome()];
      const saving = Promise.all(saved.map((item) => backend.save(item)));
      await backend.close();
      await saving;
      const reader = new RedisResultBackend({ connection: REDIS_URL, prefix: `${prefix}-close` });
      opened.push(reader);
      expect(await reader.get(saved[1]!.id)).toEqual(saved[1]);
    });
  },
);
