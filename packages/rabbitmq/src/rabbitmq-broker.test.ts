/**
 * RabbitMQ-specific behaviour beyond the conformance suite: the delay ladder, delivery counts on both
 * queue types, the dead-letter reason, priorities with a running consumer, and clear refusals.
 */
import {
  BrokerClient,
  BrokerConnectionError,
  BrokerError,
  CapabilityError,
  type Delivery,
  InvalidArgumentError,
  LeaseLostError,
} from '@tasq/core/backend';
import { freePort, readText, sleep, text, uniqueName } from '@tasq/testing';
import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { RabbitMqBroker } from './rabbitmq-broker.js';
import { deadQueueName, delayLevels, delayRoutingKey, MAX_DELAY_MS } from './rabbitmq-topology.js';
import { BrokerPool, RABBITMQ_URL, rabbitSkipReason } from './test-support/rabbitmq-server.js';

const skipReason = await rabbitSkipReason();
const classic = new BrokerPool({ queueType: 'classic' });
const quorum = new BrokerPool({ queueType: 'quorum' });

afterAll(async () => {
  if (skipReason) return;
  await classic.cleanup();
  await quorum.cleanup();
});

describe('delay ladder arithmetic', () => {
  it('splits a delay into its set bits, highest first, and routes by them', () => {
    expect(delayLevels(1)).toEqual([0]);
    expect(delayLevels(1300)).toEqual([10, 8, 4, 2]);
    expect(delayLevels(MAX_DELAY_MS)).toHaveLength(28);
    expect(delayLevels(1300).reduce((sum, level) => sum + 2 ** level, 0)).toBe(1300);
    const key = delayRoutingKey('emails.high', 5).split('.');
    expect(key).toHaveLength(29);
    expect(key.slice(-4)).toEqual(['1', '0', '1', 'emails~high']);
  });
});

describe('connection errors', () => {
  it('a closed port names the address and "connection refused", never the password', async () => {
    const port = await freePort();
    for (const host of ['127.0.0.1', 'localhost']) {
      const error = await RabbitMqBroker.connect({ url: `amqp://app:s3cret-pw@${host}:${port}/jobs` }).then(
        () => undefined,
        (caught: unknown) => caught as Error,
      );
      expect(error).toBeInstanceOf(BrokerConnectionError);
      expect(error!.message).toContain(`RabbitMQ at ${host}:${port} vhost jobs`);
      expect(error!.message).toContain('connection refused');
      expect(error!.message).not.toContain('s3cret-pw');
    }
  });
});

describe('options', () => {
  it('refuses unknown and impossible options, naming them', async () => {
    await expect(RabbitMqBroker.connect({ prefetch: 0 })).rejects.toThrow(
      /prefetch must be an integer from 1/,
    );
    await expect(RabbitMqBroker.connect({ queueType: 'stream' as 'classic' })).rejects.toThrow(/queueType/);
    await expect(RabbitMqBroker.connect({ deliveryLimit: 5 })).rejects.toThrow(
      /deliveryLimit needs queueType "quorum"/,
    );
    await expect(RabbitMqBroker.connect({ url: 'http://localhost' })).rejects.toThrow(
      /amqp:\/\/ or amqps:\/\//,
    );
    await expect(RabbitMqBroker.connect({ prefech: 5 } as never)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});

describe.skipIf(skipReason !== undefined)(
  `rabbitmq broker${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it('connects with separate connection options as well as a URL, and says what it cannot do', async () => {
      const url = new URL(RABBITMQ_URL);
      const broker = await classic.open({
        maxPriority: 9,
        url: undefined,
        connection: {
          hostname: url.hostname,
          port: Number(url.port || 5672),
          username: decodeURIComponent(url.username || 'guest'),
          password: decodeURIComponent(url.password || 'guest'),
          vhost: '/',
          heartbeat: 10,
        },
      });
      expect(broker.capabilities).toMatchObject({
        receipts: false,
        extend: false,
        priority: true,
        pubsub: true,
      });
      const queue = uniqueName('shape');
      await broker.enqueue(queue, [text('x')]);
      const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 5000 });
      await expect(broker.extend(delivery!, 5000)).rejects.toBeInstanceOf(CapabilityError);
      await broker.ack(delivery!);
    });

    it('reports an unreachable server as retryable and a refused login as not', async () => {
      const refused = await RabbitMqBroker.connect({ url: 'amqp://guest:guest@127.0.0.1:1' }).catch(
        (e: unknown) => e,
      );
      expect(refused).toBeInstanceOf(BrokerConnectionError);
      expect((refused as Error).message).toContain('127.0.0.1:1');
      const url = new URL(RABBITMQ_URL);
      url.password = 'not-the-password';
      const login = await RabbitMqBroker.connect({ url: url.href }).catch((e: unknown) => e);
      expect(login).toBeInstanceOf(BrokerError);
      expect(login).not.toBeInstanceOf(BrokerConnectionError);
      expect((login as Error).message).toMatch(/refused the login/);
      expect((login as Error).message).not.toContain('not-the-password');
    });

    it('delivers delays of several sizes, none before its time', async () => {
      const broker = await classic.open();
      const queue = uniqueName('delays');
      const delays = [1, 37, 250, 700, 1300];
      const sentAt = Date.now();
      for (const delay of delays) await broker.enqueue(queue, [text(String(delay))], { delayMs: delay });
      expect((await broker.size(queue)).delayed).toBeGreaterThan(0);
      const arrivals = new Map<number, number>();
      while (arrivals.size < delays.length && Date.now() - sentAt < 10_000) {
        for (const delivery of await broker.reserve(queue, { max: 10, leaseMs: 1000, waitMs: 500 })) {
          arrivals.set(Number(readText(delivery.body)), Date.now() - sentAt);
          await broker.ack(delivery);
        }
      }
      expect([...arrivals.keys()].sort((a, b) => a - b)).toEqual(delays);
      for (const delay of delays) expect(arrivals.get(delay)).toBeGreaterThanOrEqual(delay);
      expect(await broker.size(queue)).toEqual({ ready: 0, delayed: 0, dead: 0 });
    });

    for (const [type, pool] of [
      ['classic', classic],
      ['quorum', quorum],
    ] as const) {
      it(`counts deliveries across repeated releases (${type})`, async () => {
        const broker = await pool.open();
        const queue = uniqueName(`count-${type}`);
        const [id] = await broker.enqueue(queue, [text('retry me')]);
        const counts: number[] = [];
        for (let attempt = 0; attempt < 3; attempt++) {
          const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 5000 });
          expect(delivery?.id).toBe(id);
          counts.push(delivery!.deliveries);
          await broker.release(delivery!, attempt === 1 ? { delayMs: 20 } : {});
        }
        const [last] = await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 5000 });
        counts.push(last!.deliveries);
        await broker.ack(last!);
        expect(counts).toEqual([1, 2, 3, 4]);
      });
    }

    it('an ack racing a release of the same delivery is refused, leaving one copy', async () => {
      const broker = await classic.open();
      const queue = uniqueName('race');
      const [id] = await broker.enqueue(queue, [text('once')]);
      const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 5000 });
      const [released, acked] = await Promise.allSettled([broker.release(delivery!), broker.ack(delivery!)]);
      expect(released.status).toBe('fulfilled');
      expect(acked.status === 'rejected' && acked.reason).toBeInstanceOf(LeaseLostError);
      const again = await broker.reserve(queue, { max: 5, leaseMs: 1000, waitMs: 5000 });
      expect(again.map((d) => [d.id, d.deliveries])).toEqual([[id, 2]]);
      await broker.ack(again[0]!);
      expect((await broker.size(queue)).ready).toBe(0);
    });

    it('coalesced acks never cover a delivery that was not acked', async () => {
      const broker = await classic.open();
      const queue = uniqueName('coalesce');
      await broker.enqueue(
        queue,
        ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'].map((s) => text(s)),
      );
      const got: Delivery[] = [];
      while (got.length < 6)
        got.push(...(await broker.reserve(queue, { max: 6, leaseMs: 1000, waitMs: 2000 })));
      // Acks of one moment go out as one multiple-ack where they cover the oldest deliveries; p2 and p4
      // stay unacked in the middle of that run.
      for (const delivery of got)
        if (!['p2', 'p4'].includes(readText(delivery.body))) await broker.ack(delivery);
      await broker.close();

      const other = await classic.open();
      expect((await other.size(queue)).ready).toBe(2);
      const back = await other.reserve(queue, { max: 6, leaseMs: 1000, waitMs: 2000 });
      expect(back.map((d) => readText(d.body)).sort()).toEqual(['p2', 'p4']);
      for (const delivery of back) await other.ack(delivery);
    });

    it('lets a quorum queue dead-letter a package past deliveryLimit by itself', async () => {
      const broker = await quorum.open({ deliveryLimit: 1 });
      const queue = uniqueName('limit');
      await broker.enqueue(queue, [text('poison')]);
      for (let attempt = 1; attempt <= 2; attempt++) {
        const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 5000 });
        expect(delivery?.deliveries).toBe(attempt);
        await broker.release(delivery!);
      }
      expect(await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 500 })).toEqual([]);
      const deadline = Date.now() + 5000;
      while ((await broker.size(queue)).dead !== 1 && Date.now() < deadline) await sleep(50);
      expect(await broker.size(queue)).toEqual({ ready: 0, delayed: 0, dead: 1 });
    });

    it('keeps the dead-letter reason with the package', async () => {
      const broker = await classic.open();
      const queue = uniqueName('dead');
      const [id] = await broker.enqueue(queue, [text('poison')]);
      const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 5000 });
      await broker.deadLetter(delivery!, 'signature does not verify');
      expect(await broker.size(queue)).toEqual({ ready: 0, delayed: 0, dead: 1 });

      const model = await connect(RABBITMQ_URL);
      try {
        const channel = await model.createChannel();
        const dead = (await channel.get(`${queue}.dead`, { noAck: false })) || undefined;
        expect(dead?.content.toString()).toBe('poison');
        expect(dead?.properties.messageId).toBe(id);
        expect(dead?.properties.headers?.['tasq-dead-reason']).toBe('signature does not verify');
        expect(dead?.properties.headers?.['tasq-deliveries']).toBe(1);
        await channel.close();
      } finally {
        await model.close();
      }
    });

    it('hands out higher priorities first even from what the consumer has already buffered', async () => {
      const broker = await classic.open({ maxPriority: 9 });
      const queue = uniqueName('prio');
      // Start the consumer on an empty queue, so every later package is pushed to it as it arrives.
      expect(await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 100 })).toEqual([]);
      await broker.enqueue(queue, [text('low')], { priority: 1 });
      await broker.enqueue(queue, [text('high')], { priority: 8 });
      await broker.enqueue(queue, [text('mid')], { priority: 4 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const got = await broker.reserve(queue, { max: 3, leaseMs: 1000, waitMs: 1000 });
      expect(got.map((d) => readText(d.body))).toEqual(['high', 'mid', 'low']);
      for (const delivery of got) await broker.ack(delivery);
    });

    it('refuses priorities on quorum queues and bodies over maxPackageBytes before sending', async () => {
      const broker = await quorum.open({ maxPackageBytes: 1024 });
      const queue = uniqueName('refuse');
      expect(broker.capabilities.priority).toBe(false);
      await expect(broker.enqueue(queue, [text('x')], { priority: 3 })).rejects.toBeInstanceOf(
        CapabilityError,
      );
      await expect(broker.enqueue(queue, [new Uint8Array(1025)])).rejects.toThrow(
        /exceeds maxPackageBytes \(1024\)/,
      );
      await expect(broker.enqueue('amq.mine', [text('x')])).rejects.toThrow(/reserves/);
      await expect(broker.size(queue)).resolves.toEqual({ ready: 0, delayed: 0, dead: 0 });
    });

    it('names the mismatch when a queue exists with other arguments', async () => {
      const first = await classic.open();
      const queue = uniqueName('mismatch');
      await first.enqueue(queue, [text('x')]);
      const other = await quorum.open();
      await expect(other.enqueue(queue, [text('y')])).rejects.toThrow(/exists with other arguments/);
      // The refusal closed only an administration channel; the broker goes on working.
      await expect(other.enqueue(uniqueName('fine'), [text('z')])).resolves.toHaveLength(1);
      await first.purge(queue);
    });

    it('takes priority 0, the default, on queues without priorities, directly and through core, and refuses any other before sending', async () => {
      for (const pool of [classic, quorum]) {
        const broker = await pool.open();
        const queue = uniqueName('priority-zero');
        expect(broker.capabilities.priority).toBe(false);
        await broker.enqueue(queue, [text('direct')], { priority: 0 });
        await new BrokerClient(broker).enqueue(queue, [text('through core')], { priority: 0 });
        await broker.enqueue(queue, [text('delayed')], { priority: 0, delayMs: 50 });
        const got: Delivery[] = [];
        const deadline = Date.now() + 10_000;
        while (got.length < 3 && Date.now() < deadline) {
          got.push(...(await broker.reserve(queue, { max: 3, leaseMs: 30_000, waitMs: 500 })));
        }
        expect(got.map((d) => readText(d.body)).sort()).toEqual(['delayed', 'direct', 'through core']);
        // Released (a retry) it keeps priority 0 and is taken again.
        await broker.release(got[0]!);
        for (const delivery of got.slice(1)) await broker.ack(delivery);
        const [again] = await broker.reserve(queue, { max: 1, leaseMs: 30_000, waitMs: 2000 });
        expect(again?.id).toBe(got[0]!.id);
        await broker.ack(again!);
        for (const priority of [1, 9]) {
          const refused = await new BrokerClient(broker).enqueue(queue, [text('x')], { priority }).then(
            () => undefined,
            (error: unknown) => error as Error,
          );
          expect(refused).toBeInstanceOf(CapabilityError);
          expect(refused!.message).toContain(`priority ${priority} asked`);
          await expect(broker.enqueue(queue, [text('x')], { priority })).rejects.toBeInstanceOf(
            CapabilityError,
          );
        }
        expect((await broker.size(queue)).ready).toBe(0);
      }
    });

    it('declares plain queues without priorities by default, and says so on a priority', async () => {
      const broker = await classic.open();
      expect(broker.capabilities.priority).toBe(false);
      const queue = uniqueName('plain');
      await broker.enqueue(queue, [text('one')]);
      await expect(broker.enqueue(queue, [text('two')], { priority: 3 })).rejects.toThrow(/maxPriority 0/);
      // Declaring the queue again with exactly these arguments succeeds only if the server holds no
      // x-max-priority on it (RabbitMQ refuses an inequivalent redeclaration).
      const model = await connect(RABBITMQ_URL);
      const channel = await model.createChannel();
      await channel.assertQueue(queue, {
        durable: true,
        arguments: {
          'x-queue-type': 'classic',
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': deadQueueName(queue),
        },
      });
      await model.close().catch(() => undefined);
      const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 5000 });
      expect(readText(delivery!.body)).toBe('one');
      await broker.ack(delivery!);
    });

    it('declares the queue again after someone deleted it', async () => {
      const broker = await classic.open();
      const queue = uniqueName('deleted');
      await broker.enqueue(queue, [text('one')]);
      const model = await connect(RABBITMQ_URL);
      const channel = await model.createChannel();
      await channel.deleteQueue(queue);
      await model.close();
      // The first publish finds no queue and says so; nothing is silently dropped.
      await expect(broker.enqueue(queue, [text('two')])).rejects.toThrow(/routed the package to no queue/);
      await broker.enqueue(queue, [text('three')]);
      const [delivery] = await broker.reserve(queue, { max: 1, leaseMs: 1000, waitMs: 5000 });
      expect(readText(delivery!.body)).toBe('three');
      await broker.ack(delivery!);
    });
  },
);
