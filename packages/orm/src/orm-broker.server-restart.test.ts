/**
 * A PostgreSQL server restart, on a server of this test's own: while it is down every call fails with a
 * retryable BrokerConnectionError and the process stays up; once it is back the broker carries on by
 * itself (new pool connections, LISTEN re-established), and nothing is lost.
 */
import { BrokerConnectionError, type Delivery } from '@tasq/core/backend';
import { requireService, uniqueName } from '@tasq/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrmBroker } from './index.js';
import { canRunPostgres, PostgresServer, postgresBinaries } from './test-support/postgres-server.js';

const binaries = postgresBinaries();
const skipReason = await requireService('PostgreSQL server binaries (initdb, pg_ctl)', async () => {
  if (!binaries) throw new Error('not found under /usr/lib/postgresql/*/bin');
  await canRunPostgres();
});
const encode = (value: string) => new TextEncoder().encode(value);
const decode = (body: Uint8Array) => new TextDecoder().decode(body);

describe.skipIf(skipReason !== undefined)('PostgreSQL server restart', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await PostgresServer.create(binaries!);
    await server.start();
  }, 60_000);
  afterAll(async () => {
    await server?.remove();
  });

  it('fails calls with retryable errors while the server is down and carries on when it is back', async () => {
    const broker = await createOrmBroker({ url: server.url, schema: 'restart', poll: 60_000 });
    const producer = await createOrmBroker({
      url: `${server.url}?application_name=producer`,
      schema: 'restart',
    });
    const queue = uniqueName('restart');
    try {
      const sent = Array.from({ length: 20 }, (_, i) => `p${i}`);
      await broker.enqueue(queue, sent.map(encode));
      const held = await broker.reserve(queue, { max: 5, leaseMs: 1_500, waitMs: 0 });
      expect(held).toHaveLength(5);

      await server.stop();
      for (const call of [
        () => broker.enqueue(queue, [encode('while down')]),
        () => broker.reserve(queue, { max: 1, leaseMs: 1_000, waitMs: 100 }),
        () => broker.ack(held[0]!),
        () => broker.size(queue),
      ]) {
        const error = await call().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(BrokerConnectionError);
        expect((error as BrokerConnectionError).retryable).toBe(true);
      }

      await server.start();
      // The caller retries the enqueue that failed; the broker reconnects by itself.
      await broker.enqueue(queue, [encode('after restart')]);
      sent.push('after restart');

      // LISTEN is back: with a one-minute poll, only a NOTIFY can wake this reserve in time.
      const idle = uniqueName('wake');
      const waiting = broker.reserve(idle, { max: 1, leaseMs: 5_000, waitMs: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await producer.enqueue(idle, [encode('ping')]);
      const woken = await waiting;
      expect(woken.map((delivery) => decode(delivery.body))).toEqual(['ping']);

      const received: Delivery[] = [];
      const deadline = Date.now() + 15_000;
      while (received.length < sent.length && Date.now() < deadline) {
        for (const delivery of await broker.reserve(queue, { max: 50, leaseMs: 30_000, waitMs: 1_000 })) {
          await broker.ack(delivery);
          received.push(delivery);
        }
      }
      expect(received.map((delivery) => decode(delivery.body)).sort()).toEqual([...sent].sort());
      const heldIds = new Set(held.map((delivery) => delivery.id));
      const redelivered = received.filter((delivery) => heldIds.has(delivery.id));
      expect(redelivered).toHaveLength(5);
      expect(redelivered.every((delivery) => delivery.deliveries === 2)).toBe(true);
    } finally {
      await broker.close();
      await producer.close();
    }
  }, 90_000);
});
