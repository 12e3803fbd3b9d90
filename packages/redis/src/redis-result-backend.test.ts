import { systemClock, silentLogger, type TaskResult } from '@tasq/core';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import plugin from './index.js';
import { RedisBroker } from './redis-broker.js';
import { RedisResultBackend } from './redis-result-backend.js';
import { RedisScheduleStore } from './redis-schedule-store.js';
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
      expect(await inspector.zcard(`${prefix}-ttl:{results}:index:all`)).toBe(0);
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
      // No prefix given: the deployment name keeps deployments sharing a server apart.
      expect((results as RedisResultBackend).prefix).toBe('tasq:test');
      expect((fromShorthand as RedisScheduleStore).prefix).toBe('tasq');
      expect((broker as RedisBroker).prefix).toBe(`${prefix}-plugin`);
      await broker.enqueue('plugin', [new Uint8Array([1])]);
      expect((await broker.size('plugin')).ready).toBe(1);
      expect(await broker.purge('plugin')).toBe(1);
    });
  },
);
