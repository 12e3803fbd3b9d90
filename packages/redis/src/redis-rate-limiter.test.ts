import { BrokerConnectionError, InvalidArgumentError, silentLogger } from '@tasq/core/backend';
import { freePort, sleep, uniqueName } from '@tasq/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRateLimiter } from './index.js';
import type { RateLimit } from '@tasq/core/backend';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { deleteKeys, REDIS_URL, redisSkipReason, uniquePrefix } from './test-support/redis-server.js';

const skipReason = await redisSkipReason();
const prefix = uniquePrefix('rate');

const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});
afterAll(async () => {
  if (!skipReason) await deleteKeys(prefix);
});

function limiter(options: ConstructorParameters<typeof RedisRateLimiter>[0] = {}): RedisRateLimiter {
  const created = new RedisRateLimiter({ connection: REDIS_URL, prefix, ...options });
  opened.push(created);
  return created;
}

function inspector(): Redis {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  opened.push({ close: () => client.quit() });
  return client;
}

/** The Redis server's clock in ms: the limiter's time source. */
async function serverNow(client: Redis): Promise<number> {
  const [seconds, microseconds] = await client.time();
  return Number(seconds) * 1000 + Number(microseconds) / 1000;
}

describe.skipIf(skipReason !== undefined)(
  `redis rate limiter${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it('300 concurrent takers on 3 connections get exactly the burst of a slow limit', async () => {
      const clients = [limiter(), limiter(), limiter()];
      const clock = inspector();
      const key = uniqueName('reports.build');
      const limit: RateLimit = { count: 50, perMs: 60_000 };
      const startedAt = await serverNow(clock);
      const decisions = await Promise.all(
        Array.from({ length: 300 }, (_, index) => clients[index % 3]!.tryTake(key, limit)),
      );
      const elapsed = (await serverNow(clock)) - startedAt;
      const allowed = decisions.filter((decision) => decision.allowed).length;
      // A full bucket of 50, plus what refilled while the takes ran (50 per minute: 0 or 1 here).
      expect(allowed).toBeGreaterThanOrEqual(50);
      expect(allowed).toBeLessThanOrEqual(50 + Math.floor((elapsed * limit.count) / limit.perMs));
      for (const decision of decisions) {
        if (decision.allowed) expect(decision.retryInMs).toBe(0);
        else expect(decision.retryInMs).toBeGreaterThan(0);
      }
    });

    it('takers looping on 3 connections for 1.5 s never get more than the burst plus the refill', async () => {
      const clients = [limiter(), limiter(), limiter()];
      const clock = inspector();
      const key = uniqueName('queue:emails');
      const limit: RateLimit = { count: 20, perMs: 500 };
      const runFor = 1500;
      let allowed = 0;
      let refused = 0;
      const startedAt = await serverNow(clock);
      const stopAt = Date.now() + runFor;
      const taker = async (client: RedisRateLimiter) => {
        while (Date.now() < stopAt) {
          const decision = await client.tryTake(key, limit);
          if (decision.allowed) allowed += 1;
          else {
            refused += 1;
            await sleep(Math.min(decision.retryInMs, 50));
          }
        }
      };
      await Promise.all(Array.from({ length: 30 }, (_, index) => taker(clients[index % 3]!)));
      const elapsed = (await serverNow(clock)) - startedAt;
      const ceiling = limit.count + (elapsed * limit.count) / limit.perMs;
      expect(refused).toBeGreaterThan(0);
      expect(allowed).toBeLessThanOrEqual(Math.floor(ceiling));
      // Not stricter than asked either: takers that retry when told get most of the rate of the time they
      // surely kept asking (`runFor`; on a slow machine the last answers come in well after it).
      expect(allowed).toBeGreaterThanOrEqual(
        Math.floor((limit.count + (runFor * limit.count) / limit.perMs) / 2),
      );
    });

    it('tells how long to wait, and the wait it tells is enough', async () => {
      const taker = limiter();
      const key = uniqueName('reports.build');
      // A token every 2 s: the three calls below fit in that even on a slow, busy machine.
      const limit: RateLimit = { count: 2, perMs: 4000 };
      // The bounds below allow for the time the calls themselves take on a busy machine.
      const startedAt = Date.now();
      expect(await taker.tryTake(key, limit)).toEqual({ allowed: true, retryInMs: 0 });
      expect(await taker.tryTake(key, limit)).toEqual({ allowed: true, retryInMs: 0 });
      const refused = await taker.tryTake(key, limit);
      expect(refused.allowed).toBe(false);
      expect(refused.retryInMs).toBeGreaterThanOrEqual(2000 - (Date.now() - startedAt) - 5);
      expect(refused.retryInMs).toBeLessThanOrEqual(2000);
      // A refusal takes nothing: asking again does not push the wait further out.
      const beforeAgain = Date.now();
      const again = await taker.tryTake(key, limit);
      expect(again.retryInMs).toBeLessThanOrEqual(refused.retryInMs);
      // Two tokens need a further 2 s.
      const both = await taker.tryTake(key, limit, 2);
      expect(both.allowed).toBe(false);
      // `again` was answered somewhere after beforeAgain; at most that long has run off its wait since.
      expect(both.retryInMs).toBeGreaterThanOrEqual(again.retryInMs + 2000 - (Date.now() - beforeAgain) - 5);
      expect(both.retryInMs).toBeLessThanOrEqual(4000);

      await sleep(again.retryInMs);
      expect(await taker.tryTake(key, limit)).toEqual({ allowed: true, retryInMs: 0 });
    });

    it('keys expire once the bucket would be full again, and an idle limit starts full', async () => {
      const taker = limiter();
      const raw = inspector();
      const slow = uniqueName('reports.build');
      await taker.tryTake(slow, { count: 10, perMs: 60_000 });
      // One token of 10 per minute refills in 6 s: the key lives that long and no longer.
      const ttl = await raw.pttl(`${prefix}:rate-limit:${slow}`);
      expect(ttl).toBeGreaterThan(5000);
      expect(ttl).toBeLessThanOrEqual(6000);

      const fast = uniqueName('reports.build');
      // A token a second: the four calls below fit in that even on a slow, busy machine.
      const limit: RateLimit = { count: 3, perMs: 3000 };
      for (let taken = 0; taken < 3; taken++) expect((await taker.tryTake(fast, limit)).allowed).toBe(true);
      expect((await taker.tryTake(fast, limit)).allowed).toBe(false);
      await sleep(3_300);
      expect(await raw.exists(`${prefix}:rate-limit:${fast}`)).toBe(0);
      expect((await taker.tryTake(fast, limit, 3)).allowed).toBe(true);
    });

    it('keeps keys and deployments apart', async () => {
      const limit: RateLimit = { count: 1, perMs: 60_000 };
      const shop = createRateLimiter(
        { url: REDIS_URL, prefix: `${prefix}-shop` },
        { deployment: 'shop', logger: silentLogger },
      );
      const blog = createRateLimiter(
        { url: REDIS_URL, prefix: `${prefix}-blog` },
        { deployment: 'blog', logger: silentLogger },
      );
      opened.push(shop, blog);
      const key = uniqueName('email.send');
      expect((await shop.tryTake(key, limit)).allowed).toBe(true);
      expect((await shop.tryTake(key, limit)).allowed).toBe(false);
      expect((await shop.tryTake(`${key}-other`, limit)).allowed).toBe(true);
      expect((await blog.tryTake(key, limit)).allowed).toBe(true);
      // Without a prefix, the deployment chooses it, as for the broker's keys.
      const plain = createRateLimiter(REDIS_URL, { deployment: 'shop', logger: silentLogger });
      opened.push(plain);
      expect(plain.prefix).toBe('tasq:shop');
    });

    it('refuses bad input with an error naming it, before any network call', async () => {
      const taker = limiter({ connection: `redis://127.0.0.1:${await freePort()}` });
      const limit: RateLimit = { count: 5, perMs: 1000 };
      await expect(taker.tryTake('k', limit, 6)).rejects.toThrow(
        /cannot take 6 tokens from rate limit "k" of 5 per 1000 ms/,
      );
      await expect(taker.tryTake('', limit)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(taker.tryTake('k', { count: 0, perMs: 1000 })).rejects.toThrow(/count must be an integer/);
      await expect(taker.tryTake('k', { count: 1.5, perMs: 1000 })).rejects.toThrow(/count/);
      await expect(taker.tryTake('k', { count: 5, perMs: Number.NaN })).rejects.toThrow(/perMs/);
      await expect(taker.tryTake('k', { count: 5, perMs: 0 })).rejects.toThrow(/perMs/);
      await expect(taker.tryTake('k', limit, 0)).rejects.toThrow(/tokens must be an integer/);
      await expect(taker.tryTake('k', undefined as never)).rejects.toThrow(/\{ count, perMs \}/);
      // Valid input reaches the network, where nothing listens.
      await expect(taker.tryTake('k', limit)).rejects.toBeInstanceOf(BrokerConnectionError);
      await taker.close();
      await taker.close();
      await expect(taker.tryTake('k', limit)).rejects.toThrow(/closed/);
    });
  },
);
