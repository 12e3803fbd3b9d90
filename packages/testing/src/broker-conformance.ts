/**
 * The broker contract, executable. Any broker (ours or a user's) runs this suite unchanged:
 *
 *   brokerConformance('my-broker', ({ deployment }) => new MyBroker({ ...options, deployment }));
 *
 * Cases that need a capability the broker does not claim are skipped by capability, never by name.
 * The factory may be called several times per test (the concurrency case opens four brokers): every
 * instance with the same deployment name must see the same queues. Its argument names the deployment
 * (the configuration's `name`, a plugin's `context.deployment`): "default" everywhere but in the case
 * that checks that instances of different deployments on one server never see each other's packages.
 * Each test uses queue names of its own and purges them afterwards.
 */
import {
  BROKER_SPECIFICATION_VERSION,
  type Broker,
  BrokerClient,
  DEFAULT_DEPLOYMENT,
  type Delivery,
  LeaseLostError,
  PackageTooLargeError,
} from '@tasq/core/backend';
import { afterEach, describe, expect, it } from 'vitest';
import { administrationCases } from './admin-conformance.js';
import { readText, reserveUntil, sleep, text, uniqueName } from './support.js';

export interface ConformanceOptions {
  /** When set, the suite is registered as skipped with this reason (see `requireService`). */
  skipReason?: string;
}

/** What the broker suite asks of a broker beyond its own options. */
export interface BrokerSettings {
  /**
   * The deployment name (configuration `name`, default "default"). Instances with different names on one
   * server must keep apart: packages, queue sizes and purges of one are never seen by the other.
   */
  deployment: string;
}

/** Lease used where a test waits for expiry: one second, the smallest lease every broker supports (SQS counts in seconds). */
const SHORT_LEASE_MS = 1000;
/** Long enough for any broker to redeliver after SHORT_LEASE_MS, without making a passing test slow. */
const REDELIVERY_TIMEOUT_MS = 8000;

export function brokerConformance(
  name: string,
  factory: (settings: BrokerSettings) => Broker | Promise<Broker>,
  options: ConformanceOptions = {},
): void {
  const title = `${name}: broker conformance (${BROKER_SPECIFICATION_VERSION})`;
  describe.skipIf(options.skipReason !== undefined)(
    options.skipReason ? `${title}: skipped: ${options.skipReason}` : title,
    () => {
      const opened: Broker[] = [];
      const queues: { broker: Broker; queue: string }[] = [];

      async function open(deployment = DEFAULT_DEPLOYMENT): Promise<Broker> {
        const broker = await factory({ deployment });
        opened.push(broker);
        return broker;
      }
      async function setup(): Promise<{ broker: Broker; queue: string }> {
        const broker = await open();
        const queue = newQueue(broker);
        return { broker, queue };
      }
      function newQueue(broker: Broker, queue = uniqueName('conformance')): string {
        queues.push({ broker, queue });
        return queue;
      }

      afterEach(async () => {
        for (const { broker, queue } of queues.splice(0)) {
          await broker.purge(queue).catch(() => undefined);
          // What the administration cases leave behind: dead letters and pause flags.
          const admin = broker.administration;
          if (admin?.capabilities.deadLetters) await admin.purgeDead!({ queue }).catch(() => undefined);
          if (admin?.capabilities.pause) await admin.setPaused!(queue, false).catch(() => undefined);
        }
        for (const broker of opened.splice(0)) await broker.close();
      });

      it('declares the specification version, a name and coherent capabilities', async () => {
        const broker = await open();
        expect(broker.specificationVersion).toBe(BROKER_SPECIFICATION_VERSION);
        expect(typeof broker.name).toBe('string');
        expect(broker.name.length).toBeGreaterThan(0);
        const caps = broker.capabilities;
        expect(Number.isInteger(caps.maxBatch) && caps.maxBatch >= 1).toBe(true);
        expect(caps.delay.maxMs).toBeGreaterThanOrEqual(0);
        if (caps.maxPackageBytes !== undefined) expect(caps.maxPackageBytes).toBeGreaterThan(0);
      });

      it('enqueue returns one distinct id per body; reserve hands back the same bytes with deliveries = 1', async () => {
        const { broker, queue } = await setup();
        const ids = await broker.enqueue(queue, [text('a'), text('b'), text('c')]);
        expect(ids).toHaveLength(3);
        expect(new Set(ids).size).toBe(3);
        const got = await reserveUntil(broker, queue, 3);
        expect(got.map((d) => readText(d.body)).sort()).toEqual(['a', 'b', 'c']);
        expect(got.map((d) => d.id).sort()).toEqual([...ids].sort());
        for (const delivery of got) {
          expect(delivery.queue).toBe(queue);
          expect(delivery.deliveries).toBe(1);
          expect(ids[['a', 'b', 'c'].indexOf(readText(delivery.body))]).toBe(delivery.id);
        }
      });

      it('keeps enqueue order within a priority where it claims fifo', async (context) => {
        const { broker, queue } = await setup();
        if (!broker.capabilities.fifo) return context.skip('broker does not claim fifo ordering');
        const sent: string[] = [];
        for (let i = 0; i < 12; i++) {
          sent.push(`m${i}`);
          await broker.enqueue(queue, [text(`m${i}`)]);
        }
        await broker.enqueue(
          queue,
          ['n0', 'n1', 'n2'].map((s) => text(s)),
        );
        sent.push('n0', 'n1', 'n2');
        const got = await reserveUntil(broker, queue, sent.length);
        expect(got.map((d) => readText(d.body))).toEqual(sent);
      });

      it('reserves in bulk, never more than max, each package once', async () => {
        const { broker, queue } = await setup();
        const total = 25;
        await broker.enqueue(
          queue,
          Array.from({ length: total }, (_, i) => text(`p${i}`)),
        );
        const max = Math.min(10, broker.capabilities.maxBatch);
        const seen: string[] = [];
        const deadline = Date.now() + 15_000;
        let largestBatch = 0;
        while (seen.length < total && Date.now() < deadline) {
          const batch = await broker.reserve(queue, { max, leaseMs: 30_000, waitMs: 1000 });
          expect(batch.length).toBeLessThanOrEqual(max);
          largestBatch = Math.max(largestBatch, batch.length);
          for (const delivery of batch) {
            seen.push(readText(delivery.body));
            await broker.ack(delivery);
          }
        }
        expect(seen.sort()).toEqual(Array.from({ length: total }, (_, i) => `p${i}`).sort());
        if (max > 1) expect(largestBatch).toBeGreaterThan(1);
      });

      it('returns an empty list from an empty queue', async () => {
        const { broker, queue } = await setup();
        expect(await broker.reserve(queue, { max: 1, leaseMs: 5000, waitMs: 0 })).toEqual([]);
        expect(await broker.reserve(queue, { max: 1, leaseMs: 5000, waitMs: 200 })).toEqual([]);
      });

      it('a waiting reserve wakes when a package arrives instead of running out its wait', async () => {
        const { broker, queue } = await setup();
        const producer = await open();
        const started = Date.now();
        const waiting = broker.reserve(queue, { max: 1, leaseMs: 30_000, waitMs: 15_000 });
        await sleep(150);
        await producer.enqueue(queue, [text('wake')]);
        const got = await waiting;
        expect(got.map((d) => readText(d.body))).toEqual(['wake']);
        // Woken by the arrival, not by the end of the 15 s wait.
        expect(Date.now() - started).toBeLessThan(10_000);
      });

      it('an aborted reserve resolves with no deliveries', async () => {
        const { broker, queue } = await setup();
        const controller = new AbortController();
        const started = Date.now();
        const waiting = broker.reserve(queue, {
          max: 1,
          leaseMs: 5000,
          waitMs: 15_000,
          signal: controller.signal,
        });
        await sleep(100);
        controller.abort();
        expect(await waiting).toEqual([]);
        expect(Date.now() - started).toBeLessThan(10_000);
      });

      it('ack removes a package for good', async () => {
        const { broker, queue } = await setup();
        await broker.enqueue(queue, [text('once')]);
        const [delivery] = await reserveUntil(broker, queue, 1, { leaseMs: SHORT_LEASE_MS });
        expect(delivery).toBeDefined();
        await broker.ack(delivery!);
        await sleep(SHORT_LEASE_MS + 500);
        expect(await broker.reserve(queue, { max: 1, leaseMs: 5000, waitMs: 500 })).toEqual([]);
        const size = await broker.size(queue);
        expect(size.ready).toBe(0);
        if (size.reserved !== undefined) expect(size.reserved).toBe(0);
      });

      it('a second settle of the same delivery raises LeaseLostError', async () => {
        const { broker, queue } = await setup();
        await broker.enqueue(queue, [text('twice')]);
        const [delivery] = await reserveUntil(broker, queue, 1);
        await broker.ack(delivery!);
        await expect(broker.ack(delivery!)).rejects.toBeInstanceOf(LeaseLostError);
        await expect(broker.release(delivery!)).rejects.toBeInstanceOf(LeaseLostError);
      });

      it('release gives a package back at once, with its delivery count raised', async () => {
        const { broker, queue } = await setup();
        const [id] = await broker.enqueue(queue, [text('again')]);
        const [first] = await reserveUntil(broker, queue, 1);
        await broker.release(first!);
        const [second] = await reserveUntil(broker, queue, 1);
        expect(second?.id).toBe(id);
        expect(readText(second!.body)).toBe('again');
        expect(second?.deliveries).toBe(2);
        await broker.ack(second!);
      });

      it('release with a delay keeps the package away until the delay has passed', async (context) => {
        const { broker, queue } = await setup();
        if (broker.capabilities.delay.maxMs < 1000) return context.skip('broker has no delays of 1 s');
        await broker.enqueue(queue, [text('later')]);
        const [first] = await reserveUntil(broker, queue, 1);
        const releasedAt = Date.now();
        await broker.release(first!, { delayMs: 1000 });
        expect(await broker.reserve(queue, { max: 1, leaseMs: 5000, waitMs: 0 })).toEqual([]);
        const [second] = await reserveUntil(broker, queue, 1, { timeoutMs: REDELIVERY_TIMEOUT_MS });
        expect(readText(second!.body)).toBe('later');
        expect(Date.now() - releasedAt).toBeGreaterThanOrEqual(900);
        expect(second?.deliveries).toBe(2);
      });

      it('an unacked delivery comes back after its lease expires, its delivery count raised', async (context) => {
        const { broker, queue } = await setup();
        if (!broker.capabilities.receipts) return context.skip('broker has no receipts');
        const [id] = await broker.enqueue(queue, [text('lease')]);
        const [first] = await reserveUntil(broker, queue, 1, { leaseMs: SHORT_LEASE_MS });
        expect(first?.deliveries).toBe(1);
        // Invisible while the lease holds.
        expect(await broker.reserve(queue, { max: 1, leaseMs: SHORT_LEASE_MS, waitMs: 0 })).toEqual([]);
        const [second] = await reserveUntil(broker, queue, 1, {
          leaseMs: 30_000,
          timeoutMs: REDELIVERY_TIMEOUT_MS,
        });
        expect(second?.id).toBe(id);
        expect(second?.deliveries).toBe(2);
        await broker.ack(second!);
      });

      it('extend keeps a delivery away past its original lease', async (context) => {
        const { broker, queue } = await setup();
        if (!broker.capabilities.receipts || !broker.capabilities.extend) {
          return context.skip('broker cannot extend leases');
        }
        await broker.enqueue(queue, [text('long task')]);
        const [delivery] = await reserveUntil(broker, queue, 1, { leaseMs: SHORT_LEASE_MS });
        await sleep(300);
        await broker.extend(delivery!, 4000);
        await sleep(SHORT_LEASE_MS + 800);
        expect(await broker.reserve(queue, { max: 1, leaseMs: 5000, waitMs: 0 })).toEqual([]);
        await broker.ack(delivery!);
        const size = await broker.size(queue);
        expect(size.ready).toBe(0);
      });

      it('settling a lease that moved on raises LeaseLostError and changes nothing', async (context) => {
        const { broker, queue } = await setup();
        if (!broker.capabilities.receipts) return context.skip('broker has no receipts');
        await broker.enqueue(queue, [text('moved on')]);
        const [stale] = await reserveUntil(broker, queue, 1, { leaseMs: SHORT_LEASE_MS });
        const [current] = await reserveUntil(broker, queue, 1, {
          leaseMs: 30_000,
          timeoutMs: REDELIVERY_TIMEOUT_MS,
        });
        expect(current?.id).toBe(stale?.id);
        await expect(broker.ack(stale!)).rejects.toBeInstanceOf(LeaseLostError);
        await expect(broker.release(stale!)).rejects.toBeInstanceOf(LeaseLostError);
        await expect(broker.deadLetter(stale!, 'stale')).rejects.toBeInstanceOf(LeaseLostError);
        if (broker.capabilities.extend) {
          await expect(broker.extend(stale!, 5000)).rejects.toBeInstanceOf(LeaseLostError);
        }
        // The current lease is untouched by the stale calls.
        await broker.ack(current!);
        expect((await broker.size(queue)).ready).toBe(0);
      });

      it('deadLetter takes a package out of the queue and keeps it countable', async () => {
        const { broker, queue } = await setup();
        await broker.enqueue(queue, [text('poison'), text('fine')]);
        const got = await reserveUntil(broker, queue, 2, { leaseMs: SHORT_LEASE_MS });
        const poison = got.find((d) => readText(d.body) === 'poison')!;
        const fine = got.find((d) => readText(d.body) === 'fine')!;
        await broker.deadLetter(poison, 'bad signature');
        await broker.ack(fine);
        await sleep(SHORT_LEASE_MS + 500);
        expect(await broker.reserve(queue, { max: 1, leaseMs: 5000, waitMs: 500 })).toEqual([]);
        const size = await broker.size(queue);
        expect(size.ready).toBe(0);
        expect(size.dead).toBe(1);
      });

      it('delivers a delayed package, not before its time', async (context) => {
        const { broker, queue } = await setup();
        if (broker.capabilities.delay.maxMs < 1000) return context.skip('broker has no delays of 1 s');
        const sentAt = Date.now();
        await broker.enqueue(queue, [text('delayed')], { delayMs: 1000 });
        await broker.enqueue(queue, [text('now')]);
        const [first] = await reserveUntil(broker, queue, 1);
        expect(readText(first!.body)).toBe('now');
        expect(await broker.reserve(queue, { max: 1, leaseMs: 5000, waitMs: 0 })).toEqual([]);
        const size = await broker.size(queue);
        if (size.delayed !== undefined) expect(size.delayed).toBe(1);
        const [second] = await reserveUntil(broker, queue, 1, { timeoutMs: REDELIVERY_TIMEOUT_MS });
        expect(readText(second!.body)).toBe('delayed');
        expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
      });

      it('reserves higher priorities first where it claims priorities', async (context) => {
        const { broker, queue } = await setup();
        if (!broker.capabilities.priority) return context.skip('broker has no priorities');
        await broker.enqueue(queue, [text('low-1'), text('low-2')], { priority: 0 });
        await broker.enqueue(queue, [text('high-1'), text('high-2')], { priority: 9 });
        await broker.enqueue(queue, [text('mid-1')], { priority: 5 });
        const got = (await reserveUntil(broker, queue, 5)).map((d) => readText(d.body));
        expect(got.map((s) => s.split('-')[0])).toEqual(['high', 'high', 'mid', 'low', 'low']);
        if (broker.capabilities.fifo) expect(got).toEqual(['high-1', 'high-2', 'mid-1', 'low-1', 'low-2']);
      });

      it('counts ready and reserved packages, and purge removes what is waiting', async () => {
        const { broker, queue } = await setup();
        await broker.enqueue(queue, [text('1'), text('2'), text('3'), text('4')]);
        expect((await broker.size(queue)).ready).toBe(4);
        const [held] = await reserveUntil(broker, queue, 1);
        const size = await broker.size(queue);
        expect(size.ready).toBe(3);
        if (size.reserved !== undefined) expect(size.reserved).toBe(1);
        expect(await broker.purge(queue)).toBe(3);
        expect((await broker.size(queue)).ready).toBe(0);
        await broker.ack(held!);
      });

      it('purge also removes delayed packages', async (context) => {
        const { broker, queue } = await setup();
        if (broker.capabilities.delay.maxMs < 60_000) return context.skip('broker has no delays of 60 s');
        await broker.enqueue(queue, [text('later')], { delayMs: 60_000 });
        await broker.enqueue(queue, [text('now')]);
        expect(await broker.purge(queue)).toBe(2);
        const size = await broker.size(queue);
        expect(size.ready).toBe(0);
        if (size.delayed !== undefined) expect(size.delayed).toBe(0);
      });

      it('keeps bodies binary-safe: every byte value, and an empty body', async () => {
        const { broker, queue } = await setup();
        const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
        const reversed = Uint8Array.from({ length: 512 }, (_, i) => 255 - (i % 256));
        await broker.enqueue(queue, [allBytes, new Uint8Array(0), reversed]);
        const got = await reserveUntil(broker, queue, 3);
        const bodies = got.map((d) => Buffer.from(d.body).toString('hex')).sort();
        expect(bodies).toEqual(
          [allBytes, new Uint8Array(0), reversed].map((b) => Buffer.from(b).toString('hex')).sort(),
        );
      });

      it('accepts a body of exactly maxPackageBytes, and core refuses one byte more before sending', async () => {
        const { broker, queue } = await setup();
        const limit = broker.capabilities.maxPackageBytes ?? 1024 * 1024;
        const atLimit = new Uint8Array(limit);
        for (let i = 0; i < limit; i++) atLimit[i] = (i * 31) % 256;
        await broker.enqueue(queue, [atLimit]);
        const [delivery] = await reserveUntil(broker, queue, 1);
        expect(delivery!.body.byteLength).toBe(limit);
        expect(Buffer.compare(Buffer.from(delivery!.body), Buffer.from(atLimit))).toBe(0);
        if (broker.capabilities.maxPackageBytes !== undefined) {
          const client = new BrokerClient(broker);
          const error = await client.enqueue(queue, [new Uint8Array(limit + 1)]).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(PackageTooLargeError);
          expect((error as PackageTooLargeError).limitBytes).toBe(limit);
          expect((error as Error).message).toContain(String(limit + 1));
        }
      });

      it('delivers each package exactly once to many concurrent consumers that ack', async () => {
        const { broker, queue } = await setup();
        const total = 200;
        await broker.enqueue(
          queue,
          Array.from({ length: total }, (_, i) => text(`job-${i}`)),
        );
        const consumers = [broker, await open(), await open(), await open()];
        const seen: string[] = [];
        const deadline = Date.now() + 30_000;
        await Promise.all(
          consumers.map(async (consumer) => {
            while (seen.length < total && Date.now() < deadline) {
              const batch = await consumer.reserve(queue, {
                max: Math.min(10, consumer.capabilities.maxBatch),
                leaseMs: 60_000,
                waitMs: 500,
              });
              for (const delivery of batch) {
                seen.push(readText(delivery.body));
                await consumer.ack(delivery);
              }
            }
          }),
        );
        expect(seen).toHaveLength(total);
        expect(new Set(seen).size).toBe(total);
      });

      it('keeps queues isolated from each other', async () => {
        const { broker, queue } = await setup();
        const other = newQueue(broker);
        await broker.enqueue(queue, [text('mine')]);
        await broker.enqueue(other, [text('theirs-1'), text('theirs-2')]);
        const got = await reserveUntil(broker, queue, 1);
        expect(got.map((d) => readText(d.body))).toEqual(['mine']);
        expect(await broker.reserve(queue, { max: 5, leaseMs: 5000, waitMs: 300 })).toEqual([]);
        expect(await broker.purge(queue)).toBe(0);
        expect((await broker.size(other)).ready).toBe(2);
        await broker.ack(got[0]!);
      });

      it('keeps deployments apart: instances with different deployment names on one server never see each other', async () => {
        // The default deployment and two named ones, each with a queue of the same name.
        const deployments = [DEFAULT_DEPLOYMENT, uniqueName('alpha'), uniqueName('beta')];
        const brokers = await Promise.all(deployments.map((deployment) => open(deployment)));
        const queue = uniqueName('conformance');
        for (const broker of brokers) newQueue(broker, queue);
        // Deployment i holds i + 1 packages, so every count tells whose packages it saw.
        for (const [index, broker] of brokers.entries()) {
          await broker.enqueue(
            queue,
            Array.from({ length: index + 1 }, (_, n) => text(`${deployments[index]}:${n}`)),
          );
        }
        const separated =
          "the deployment name must be part of the broker's namespace (queue names, keys, tables)";
        for (const [index, broker] of brokers.entries()) {
          expect((await broker.size(queue)).ready, separated).toBe(index + 1);
        }
        // A purge in one deployment leaves the others' packages alone.
        expect(await brokers[0]!.purge(queue), separated).toBe(1);
        expect((await brokers[1]!.size(queue)).ready, separated).toBe(2);
        expect((await brokers[2]!.size(queue)).ready, separated).toBe(3);
        for (const [index, broker] of brokers.entries()) {
          if (index === 0) continue;
          const got = await reserveUntil(broker, queue, index + 1);
          expect(got.map((d) => readText(d.body)).sort(), separated).toEqual(
            Array.from({ length: index + 1 }, (_, n) => `${deployments[index]}:${n}`),
          );
          expect(await broker.reserve(queue, { max: 5, leaseMs: 5000, waitMs: 300 }), separated).toEqual([]);
          for (const delivery of got) await broker.ack(delivery);
        }
        expect(await brokers[0]!.reserve(queue, { max: 5, leaseMs: 5000, waitMs: 300 }), separated).toEqual(
          [],
        );
      });

      administrationCases({
        open: () => open(),
        newQueue: (broker, prefix) => newQueue(broker, uniqueName(prefix ?? 'admin')),
      });

      it('close is idempotent and releases a pending reserve with no deliveries', async () => {
        const { broker, queue } = await setup();
        const started = Date.now();
        const waiting = broker.reserve(queue, { max: 1, leaseMs: 5000, waitMs: 20_000 });
        await sleep(200);
        await broker.close();
        await broker.close();
        const result: Delivery[] | Error = await waiting.catch((e: Error) => e);
        expect(result).toEqual([]);
        expect(Date.now() - started).toBeLessThan(15_000);
      });
    },
  );
}
