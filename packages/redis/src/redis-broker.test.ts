import { BrokerConnectionError, InvalidArgumentError, PackageTooLargeError } from '@tasq/core/backend';
import { readText, text } from '@tasq/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisBroker } from './redis-broker.js';
import { RedisProcess } from './test-support/redis-process.js';
import { deleteKeys, REDIS_URL, redisSkipReason, uniquePrefix } from './test-support/redis-server.js';

const skipReason = await redisSkipReason();
const prefix = uniquePrefix('broker');
const opened: { close(): Promise<unknown> }[] = [];

function broker(options: ConstructorParameters<typeof RedisBroker>[0] = {}): RedisBroker {
  const created = new RedisBroker({ connection: REDIS_URL, prefix, ...options });
  opened.push(created);
  return created;
}

let queueCounter = 0;
function queue(): string {
  queueCounter += 1;
  return `q${queueCounter}`;
}

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});
afterAll(async () => {
  if (!skipReason) await deleteKeys(prefix);
});

describe.skipIf(skipReason !== undefined)(
  `redis broker${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it('keeps every key of a queue under the prefix and the queue hash tag (one Redis Cluster slot), and the administration keys that span queues under the prefix', async () => {
      const subject = broker();
      const name = queue();
      await subject.enqueue(name, [text('a'), text('b'), text('c')]);
      await subject.enqueue(name, [text('later')], { delayMs: 60_000 });
      const [first, second] = await subject.reserve(name, { max: 2, leaseMs: 30_000, waitMs: 0 });
      await subject.deadLetter(first!, 'poison');
      await subject.ack(second!);
      const inspector = new Redis(REDIS_URL);
      opened.push({ close: () => inspector.quit() });
      const keys = await inspector.keys(`${prefix}*`);
      const queueKeys = keys.filter((key) => !key.startsWith(`${prefix}:admin:`));
      expect(queueKeys.length).toBeGreaterThanOrEqual(5);
      for (const key of queueKeys) expect(key.startsWith(`${prefix}:{${name}}:`)).toBe(true);
      // The one key beyond the queue's slot: the queues `find` looks through, one command of its own.
      expect(keys.filter((key) => key.startsWith(`${prefix}:admin:`))).toEqual([`${prefix}:admin:queues`]);
    });

    it('accepts a URL, ioredis options or an existing client, and leaves a client it was given open', async () => {
      const port = Number(new URL(REDIS_URL).port || 6379);
      const host = new URL(REDIS_URL).hostname;
      const fromOptions = broker({ connection: { host, port } });
      const client = new Redis(REDIS_URL);
      opened.push({ close: () => client.quit() });
      const fromClient = new RedisBroker({ connection: client, prefix });
      const name = queue();
      await broker().enqueue(name, [text('url')]);
      await fromOptions.enqueue(name, [text('options')]);
      await fromClient.enqueue(name, [text('client')]);
      const got = await fromClient.reserve(name, { max: 10, leaseMs: 30_000, waitMs: 0 });
      expect(got.map((delivery) => readText(delivery.body)).sort()).toEqual(['client', 'options', 'url']);
      for (const delivery of got) await fromClient.ack(delivery);
      await fromClient.close();
      expect(await client.ping()).toBe('PONG');
    });

    it('refuses bad input with errors that name the problem, before sending anything', async () => {
      const subject = broker();
      await expect(subject.enqueue('a{b}', [text('x')])).rejects.toThrow(/must not contain "\{"/);
      await expect(subject.enqueue('', [text('x')])).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(subject.enqueue(queue(), [text('x')], { priority: 10 })).rejects.toThrow(
        /priority must be an integer from 0 to 9/,
      );
      await expect(subject.enqueue(queue(), ['x' as unknown as Uint8Array])).rejects.toThrow(
        /body 0 must be a Uint8Array/,
      );
      await expect(
        subject.enqueue(queue(), [new Uint8Array(subject.capabilities.maxPackageBytes! + 1)]),
      ).rejects.toBeInstanceOf(PackageTooLargeError);
      await expect(subject.reserve(queue(), { max: 0, leaseMs: 1000, waitMs: 0 })).rejects.toThrow(
        /max must be an integer from 1 to 1000/,
      );
      await expect(subject.reserve(queue(), { max: 1, leaseMs: 0, waitMs: 0 })).rejects.toThrow(
        /leaseMs must be greater than 0/,
      );
      const foreign = { id: 'x', queue: queue(), body: text('x'), deliveries: 1, receipt: {} };
      await expect(subject.ack(foreign)).rejects.toThrow(/not reserved from this Redis broker/);
      expect(() => new RedisBroker({ connection: 'http://localhost:6379' })).toThrow(
        /must start with redis:\/\/ or rediss:\/\//,
      );
      expect(() => new RedisBroker({ url: REDIS_URL, connection: REDIS_URL })).toThrow(
        /`url` or `connection`, not both/,
      );
      expect(() => new RedisBroker({ connection: REDIS_URL, prefix: 'a}b' })).toThrow(
        /must not contain "\{", "\}"/,
      );
    });

    it('wakes every waiting reserver for a burst, not just one', async () => {
      const consumers = [broker(), broker(), broker(), broker(), broker()];
      const name = queue();
      const started = Date.now();
      const waiting = consumers.map((consumer) =>
        consumer.reserve(name, { max: 1, leaseMs: 30_000, waitMs: 15_000 }),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      await broker().enqueue(name, ['1', '2', '3', '4', '5'].map(text));
      const results = await Promise.all(waiting);
      expect(results.map((batch) => batch.length)).toEqual([1, 1, 1, 1, 1]);
      expect(
        results
          .flat()
          .map((delivery) => readText(delivery.body))
          .sort(),
      ).toEqual(['1', '2', '3', '4', '5']);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('a waiting reserve wakes when a delayed package falls due, not at the end of its wait', async () => {
      const subject = broker();
      const name = queue();
      const started = Date.now();
      const waiting = subject.reserve(name, { max: 1, leaseMs: 30_000, waitMs: 15_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
      await broker().enqueue(name, [text('due soon')], { delayMs: 400 });
      const got = await waiting;
      expect(got.map((delivery) => readText(delivery.body))).toEqual(['due soon']);
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(5000);
    });

    it('a waiting reserve wakes when a lease runs out and gets the package with its count raised', async () => {
      const holder = broker();
      const waiter = broker();
      const name = queue();
      await holder.enqueue(name, [text('abandoned')]);
      const [held] = await holder.reserve(name, { max: 1, leaseMs: 500, waitMs: 0 });
      const started = Date.now();
      const [again] = await waiter.reserve(name, { max: 1, leaseMs: 30_000, waitMs: 15_000 });
      expect(again?.id).toBe(held?.id);
      expect(again?.deliveries).toBe(2);
      expect(Date.now() - started).toBeLessThan(5000);
      await waiter.ack(again!);
    });

    it('measures leases by the Redis server clock, so machines with skewed clocks agree', async () => {
      const subject = broker();
      const name = queue();
      await subject.enqueue(name, [text('timed')]);
      const [delivery] = await subject.reserve(name, { max: 1, leaseMs: 60_000, waitMs: 0 });
      const inspector = new Redis(REDIS_URL);
      opened.push({ close: () => inspector.quit() });
      const [seconds, microseconds] = await inspector.time();
      const serverNow = Number(seconds) * 1000 + Math.floor(Number(microseconds) / 1000);
      const deadline = Number(await inspector.zscore(`${prefix}:{${name}}:reserved`, delivery!.id));
      expect(Math.abs(deadline - (serverNow + 60_000))).toBeLessThan(2000);
      // A broker given a clock of its own (a test clock) uses it instead.
      const skewed = broker({ clock: { now: () => serverNow - 3_600_000, sleep: async () => undefined } });
      await skewed.enqueue(name, [text('test clock')]);
      const [own] = await skewed.reserve(name, { max: 1, leaseMs: 60_000, waitMs: 0 });
      const ownDeadline = Number(await inspector.zscore(`${prefix}:{${name}}:reserved`, own!.id));
      expect(ownDeadline).toBe(serverNow - 3_600_000 + 60_000);
    });

    it('a bulk enqueue larger than one script call keeps its order and its ids', async () => {
      const subject = broker();
      const name = queue();
      const bodies = Array.from({ length: 2500 }, (_, index) => text(`m${index}`));
      const ids = await subject.enqueue(name, bodies);
      expect(new Set(ids).size).toBe(2500);
      const got = [];
      for (let round = 0; round < 3; round++)
        got.push(...(await subject.reserve(name, { max: 1000, leaseMs: 30_000, waitMs: 0 })));
      expect(got.map((delivery) => readText(delivery.body))).toEqual(bodies.map(readText));
      expect(got.map((delivery) => delivery.id)).toEqual(ids);
      expect((await subject.size(name)).reserved).toBe(2500);
    });

    it('a released package goes behind the ready ones of its priority, and a dead letter keeps body, count and reason', async () => {
      const subject = broker();
      const name = queue();
      await subject.enqueue(name, [text('first'), text('second')], { priority: 3 });
      const [first] = await subject.reserve(name, { max: 1, leaseMs: 30_000, waitMs: 0 });
      await subject.release(first!);
      const order = await subject.reserve(name, { max: 2, leaseMs: 30_000, waitMs: 0 });
      expect(order.map((delivery) => readText(delivery.body))).toEqual(['second', 'first']);
      await subject.deadLetter(order[1]!, 'handler threw 3 times');
      const inspector = new Redis(REDIS_URL);
      opened.push({ close: () => inspector.quit() });
      const stored = await inspector.hgetall(`${prefix}:{${name}}:job:${order[1]!.id}`);
      expect(stored.body).toBe('first');
      expect(stored.deliveries).toBe('2');
      expect(stored.reason).toBe('handler threw 3 times');
      expect(await inspector.zrange(`${prefix}:{${name}}:dead-at`, '0', '-1')).toEqual([order[1]!.id]);
      expect(await subject.size(name)).toEqual({ ready: 0, delayed: 0, reserved: 1, dead: 1 });
    });
  },
);

describe.skipIf(skipReason !== undefined)('redis broker on a server of its own', () => {
  it('blocks on the server while idle instead of polling it', async () => {
    const server = await RedisProcess.start();
    opened.push({ close: () => server.stop() });
    const subject = new RedisBroker({ connection: server.url });
    opened.push(subject);
    const inspector = new Redis(server.url);
    opened.push({ close: () => inspector.quit() });
    await inspector.config('RESETSTAT');
    const started = Date.now();
    expect(await subject.reserve('idle', { max: 10, leaseMs: 30_000, waitMs: 3000 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    const stats = await inspector.info('commandstats');
    const calls = (command: string) =>
      Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    // One reserve script (EVALSHA, plus one EVAL the first time the server lacks the script) and one BLPOP
    // for the whole 3 s: a polling loop would show one call per poll interval.
    expect(calls('evalsha') + calls('eval')).toBeLessThanOrEqual(3);
    expect(calls('blpop')).toBe(1);
  });

  it('loads its scripts again when the server forgets them (SCRIPT FLUSH, restart, failover)', async () => {
    const server = await RedisProcess.start();
    opened.push({ close: () => server.stop() });
    const subject = new RedisBroker({ connection: server.url });
    opened.push(subject);
    const inspector = new Redis(server.url);
    opened.push({ close: () => inspector.quit() });
    await subject.enqueue('flush', [text('before')]);
    await inspector.script('FLUSH');
    // A bulk larger than one script call goes through the pipelined path.
    const bodies = Array.from({ length: 1200 }, (_, index) => text(`b${index}`));
    await subject.enqueue('flush', bodies);
    await inspector.script('FLUSH');
    const got = await subject.reserve('flush', { max: 1000, leaseMs: 30_000, waitMs: 0 });
    expect(got).toHaveLength(1000);
    expect(readText(got[0]!.body)).toBe('before');
    await inspector.script('FLUSH');
    await Promise.all(got.map((delivery) => subject.ack(delivery)));
    expect(await subject.size('flush')).toEqual({ ready: 201, delayed: 0, reserved: 0, dead: 0 });
  });

  it('a reserve in flight fails with a retryable BrokerConnectionError when Redis goes away, and the broker resumes when it is back', async () => {
    const server = await RedisProcess.start({ durable: true });
    opened.push({ close: () => server.stop() });
    const subject = new RedisBroker({ connection: server.url });
    opened.push(subject);
    await subject.enqueue('resume', [text('kept')]);
    const [held] = await subject.reserve('resume', { max: 1, leaseMs: 1000, waitMs: 0 });
    // The rejection is caught at once: it may arrive while the server is still being killed.
    const waiting = subject
      .reserve('resume', { max: 1, leaseMs: 30_000, waitMs: 20_000 })
      .catch((caught: unknown) => caught);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await server.kill();
    const error = await waiting;
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect((error as BrokerConnectionError).retryable).toBe(true);
    await expect(subject.ack(held!)).rejects.toBeInstanceOf(BrokerConnectionError);
    await server.start();
    // The package reserved before the crash was persisted with its lease: it comes back once the lease ran out.
    let again: Awaited<ReturnType<RedisBroker['reserve']>> = [];
    const deadline = Date.now() + 15_000;
    while (again.length === 0 && Date.now() < deadline) {
      again = await subject.reserve('resume', { max: 1, leaseMs: 30_000, waitMs: 2000 }).catch(() => []);
    }
    expect(again.map((delivery) => readText(delivery.body))).toEqual(['kept']);
    expect(again[0]?.deliveries).toBe(2);
    await subject.ack(again[0]!);
  });
});
