import { BrokerConnectionError, InvalidArgumentError, silentLogger, systemClock } from '@tasq/core/backend';
import { controlChannel } from '@tasq/core/internal';
import { freePort, pubSubConformance, readText, sleep, text, uniqueName } from '@tasq/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import plugin from './index.js';
import type { RedisBroker } from './redis-broker.js';
import { RedisPubSub } from './redis-pubsub.js';
import { RedisProcess } from './test-support/redis-process.js';
import { REDIS_URL, redisSkipReason, uniquePrefix } from './test-support/redis-server.js';

const skipReason = await redisSkipReason();
const prefix = uniquePrefix('pubsub');

pubSubConformance('redis', () => new RedisPubSub({ connection: REDIS_URL, prefix }), { skipReason });

const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});
const servers: RedisProcess[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

function open(options: ConstructorParameters<typeof RedisPubSub>[0] = {}): RedisPubSub {
  const pubsub = new RedisPubSub({ connection: REDIS_URL, prefix, ...options });
  opened.push(pubsub);
  return pubsub;
}

function inspector(url = REDIS_URL): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  opened.push({ close: () => client.quit().catch(() => client.disconnect()) });
  return client;
}

/** How many connections the server has subscribed to each channel. */
async function subscriberCount(client: Redis, channel: string): Promise<number> {
  const reply = (await client.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

describe.skipIf(skipReason !== undefined)(
  `redis pub/sub${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it('travels on <prefix>:pubsub:<channel>, so another prefix on the same server hears nothing', async () => {
      const mine = open();
      const theirs = open({ prefix: `${prefix}-other` });
      const channel = uniqueName('events');
      const heardByMine: string[] = [];
      const heardByTheirs: string[] = [];
      await mine.subscribe(channel, (m) => heardByMine.push(readText(m)));
      await theirs.subscribe(channel, (m) => heardByTheirs.push(readText(m)));
      const raw = inspector();
      expect(await subscriberCount(raw, `${prefix}:pubsub:${channel}`)).toBe(1);

      await mine.publish(channel, text('for mine'));
      await theirs.publish(channel, text('for theirs'));
      await until(() => heardByMine.length === 1 && heardByTheirs.length === 1);
      await sleep(100);
      expect(heardByMine).toEqual(['for mine']);
      expect(heardByTheirs).toEqual(['for theirs']);
    });

    it('subscribes a channel once for any number of listeners, and unsubscribes after the last', async () => {
      const pubsub = open();
      const raw = inspector();
      const first = uniqueName('events');
      const second = uniqueName('events');
      const redisChannel = (channel: string) => `${prefix}:pubsub:${channel}`;
      const a = await pubsub.subscribe(first, () => undefined);
      const b = await pubsub.subscribe(first, () => undefined);
      const c = await pubsub.subscribe(second, () => undefined);
      expect(await subscriberCount(raw, redisChannel(first))).toBe(1);
      expect(await subscriberCount(raw, redisChannel(second))).toBe(1);

      await a.unsubscribe();
      expect(await subscriberCount(raw, redisChannel(first))).toBe(1);
      await b.unsubscribe();
      expect(await subscriberCount(raw, redisChannel(first))).toBe(0);
      expect(await subscriberCount(raw, redisChannel(second))).toBe(1);
      await c.unsubscribe();
      expect(await subscriberCount(raw, redisChannel(second))).toBe(0);
    });

    it('a subscribe right after the last unsubscribe of the channel still receives', async () => {
      const publisher = open();
      const subscriber = open();
      const channel = uniqueName('control');
      const got: string[] = [];
      const old = await subscriber.subscribe(channel, () => undefined);
      // Not awaited: the UNSUBSCRIBE and the new SUBSCRIBE are in flight together.
      const leaving = old.unsubscribe();
      await subscriber.subscribe(channel, (m) => got.push(readText(m)));
      await leaving;
      await publisher.publish(channel, text('still here'));
      await until(() => got.length === 1);
      expect(got).toEqual(['still here']);
    });

    it('a listener that throws does not keep the message from the others', async () => {
      const pubsub = open();
      const channel = uniqueName('events');
      const got: string[] = [];
      await pubsub.subscribe(channel, () => {
        throw new Error('listener bug');
      });
      await pubsub.subscribe(channel, (m) => got.push(readText(m)));
      await pubsub.publish(channel, text('one'));
      await pubsub.publish(channel, text('two'));
      await until(() => got.length === 2);
      expect(got).toEqual(['one', 'two']);
    });

    it('refuses a message over maxMessageBytes, a bad channel and a closed instance with clear errors', async () => {
      const pubsub = open();
      expect(pubsub.maxMessageBytes).toBe(1024 * 1024);
      const tooBig = new Uint8Array(pubsub.maxMessageBytes + 1);
      await expect(pubsub.publish('events', tooBig)).rejects.toThrow(
        /1048577 bytes on channel "events" exceeds the redis limit of 1048576 bytes/,
      );
      await expect(pubsub.publish('', text('x'))).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(pubsub.publish('x'.repeat(1025), text('x'))).rejects.toThrow(/limit is 1024/);
      await expect(pubsub.publish('events', 'text' as unknown as Uint8Array)).rejects.toThrow(
        /must be a Uint8Array/,
      );
      await expect(pubsub.subscribe('events', undefined as never)).rejects.toThrow(/onMessage function/);
      await expect(pubsub.subscribe('\uD800', () => undefined)).rejects.toThrow(/well-formed/);
      await pubsub.close();
      await expect(pubsub.publish('events', text('x'))).rejects.toThrow(/closed/);
      await expect(pubsub.subscribe('events', () => undefined)).rejects.toThrow(/closed/);
    });

    it('uses a client it is given for publishing and a duplicate for subscribing, and never closes it', async () => {
      const client = new Redis(REDIS_URL);
      opened.push({ close: () => client.quit() });
      const pubsub = new RedisPubSub({ connection: client, prefix });
      const channel = uniqueName('events');
      const got: string[] = [];
      await pubsub.subscribe(channel, (m) => got.push(readText(m)));
      await pubsub.publish(channel, text('through the given client'));
      await until(() => got.length === 1);
      await pubsub.close();
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
      expect(await subscriberCount(client, `${prefix}:pubsub:${channel}`)).toBe(0);
    });

    it('reports an unreachable server as BrokerConnectionError', async () => {
      const port = await freePort();
      const pubsub = open({ connection: `redis://127.0.0.1:${port}` });
      await expect(pubsub.publish('events', text('x'))).rejects.toBeInstanceOf(BrokerConnectionError);
      await expect(pubsub.subscribe('events', () => undefined)).rejects.toBeInstanceOf(BrokerConnectionError);
    });

    it('the plugin offers pub/sub with channels per deployment, and the broker claims it', async () => {
      const context = (deployment: string) => ({ deployment, clock: systemClock, logger: silentLogger });
      const deployment = uniqueName('shop');
      const other = uniqueName('blog');
      const broker = plugin.createBroker({ url: REDIS_URL }, context(deployment)) as RedisBroker;
      opened.push(broker);
      expect(broker.capabilities.pubsub).toBe(true);
      const shop = (await plugin.createPubSub!(REDIS_URL, context(deployment))) as RedisPubSub;
      const blog = (await plugin.createPubSub!({ url: REDIS_URL }, context(other))) as RedisPubSub;
      opened.push(shop, blog);
      expect(shop.prefix).toBe(`tasq:${deployment}`);

      const channel = controlChannel(deployment);
      const heardByShop: string[] = [];
      const heardByBlog: string[] = [];
      await shop.subscribe(channel, (m) => heardByShop.push(readText(m)));
      await blog.subscribe(channel, (m) => heardByBlog.push(readText(m)));
      // What an operator sees with redis-cli: the channel name carries the deployment's prefix.
      const raw = inspector();
      expect(await subscriberCount(raw, `tasq:${deployment}:pubsub:${channel}`)).toBe(1);
      await shop.publish(channel, text('ping'));
      await until(() => heardByShop.length === 1);
      await sleep(100);
      expect(heardByShop).toEqual(['ping']);
      expect(heardByBlog).toEqual([]);
    });

    it('subscriptions survive a server restart; one made while it is down fails and is not made later', async () => {
      const server = await RedisProcess.start();
      servers.push(server);
      const publisher = open({ connection: server.url });
      const subscriber = open({ connection: server.url });
      const channel = uniqueName('events');
      const failedChannel = uniqueName('events');
      const secondChannel = uniqueName('control');
      const got: string[] = [];
      await subscriber.subscribe(channel, (m) => got.push(readText(m)));
      await subscriber.subscribe(secondChannel, () => undefined);
      await publisher.publish(channel, text('before'));
      await until(() => got.includes('before'));

      await server.kill();
      await expect(publisher.publish(channel, text('while down'))).rejects.toBeInstanceOf(
        BrokerConnectionError,
      );
      await expect(subscriber.subscribe(failedChannel, () => undefined)).rejects.toBeInstanceOf(
        BrokerConnectionError,
      );
      await server.start();

      // At most once: what is published before the subscriber is back may be lost; later messages arrive.
      const deadline = Date.now() + 15_000;
      while (!got.includes('after') && Date.now() < deadline) {
        await publisher.publish(channel, text('after')).catch((error: unknown) => {
          if (!(error instanceof BrokerConnectionError)) throw error;
        });
        await sleep(100);
      }
      expect(got).toContain('after');
      expect(got).not.toContain('while down');

      const raw = inspector(server.url);
      expect(await subscriberCount(raw, `${prefix}:pubsub:${channel}`)).toBe(1);
      expect(await subscriberCount(raw, `${prefix}:pubsub:${failedChannel}`)).toBe(0);
      // One subscriber connection on this server, holding both channels again.
      const subscribers = ((await raw.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string)
        .split('\n')
        .filter((line) => line.length > 0);
      expect(subscribers).toHaveLength(1);
      expect(subscribers[0]).toMatch(/ name=tasq-pubsub .* sub=2 /);
      const before = got.length;
      await publisher.publish(channel, text('once'));
      await until(() => got.length > before);
      await sleep(200);
      expect(got.slice(before)).toEqual(['once']);
    }, 30_000);
  },
);
