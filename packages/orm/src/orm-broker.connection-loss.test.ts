/**
 * PostgreSQL connection loss: every server connection of the broker (its pool and its LISTEN connection)
 * is terminated while a statement is in flight. The in-flight call fails with a retryable
 * BrokerConnectionError; the broker recovers by itself (new pool connections, LISTEN re-established);
 * nothing is lost: unacked packages come back after their lease.
 */
import { BrokerConnectionError, type Delivery } from '@tasq/core/backend';
import { sleep, uniqueName } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmBroker, type OrmBroker } from './index.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  uniqueSchema,
  withPostgresClient,
} from './test-support/databases.js';

const skipReason = await requirePostgres();
const schema = uniqueSchema('connection_loss');
const encode = (value: string) => new TextEncoder().encode(value);
const decode = (body: Uint8Array) => new TextDecoder().decode(body);

/** The same database, tagged so this test can find (and terminate) exactly these connections. */
function taggedUrl(applicationName: string): string {
  const url = new URL(postgresUrl);
  url.searchParams.set('application_name', applicationName);
  return url.toString();
}

afterAll(async () => {
  if (!skipReason) await dropSchema(schema);
});

describe.skipIf(skipReason !== undefined)('PostgreSQL connection loss', () => {
  it('fails the in-flight call with a retryable error, recovers by itself, and loses nothing', async () => {
    const applicationName = uniqueName('tasq-loss').replaceAll('-', '_');
    // poll 60 s: within this test only NOTIFY (on a re-established LISTEN) or a lease expiry can wake a reserve.
    const broker: OrmBroker = await createOrmBroker({
      url: taggedUrl(applicationName),
      schema,
      poll: 60_000,
    });
    const producer = await createOrmBroker({ url: taggedUrl(`${applicationName}_producer`), schema });
    const queue = uniqueName('loss');
    try {
      const sent = Array.from({ length: 50 }, (_, i) => `before-${i}`);
      await broker.enqueue(queue, sent.map(encode));
      // A worker holds ten packages when the connection goes: they must come back, not vanish.
      const held = await broker.reserve(queue, { max: 10, leaseMs: 1_500, waitMs: 0 });
      expect(held).toHaveLength(10);
      // Make sure the LISTEN connection exists, so it is terminated too.
      expect(await broker.reserve(uniqueName('idle'), { max: 1, leaseMs: 1_000, waitMs: 50 })).toEqual([]);

      const inFlight = await withPostgresClient(async (locker) => {
        // Hold the table so the broker's next statement is still running when its connection is killed.
        await locker.query('BEGIN');
        await locker.query(`LOCK TABLE "${schema}"."packages" IN ACCESS EXCLUSIVE MODE`);
        const blocked = broker.enqueue(queue, [encode('during')]).then(
          () => undefined,
          (error: unknown) => error,
        );
        await sleep(300);
        const terminated = await withPostgresClient(async (admin) => {
          const { rows } = await admin.query(
            'SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = $1',
            [applicationName],
          );
          return rows.length;
        });
        expect(terminated).toBeGreaterThanOrEqual(2); // the pool's statement connection and the LISTEN connection
        await locker.query('ROLLBACK');
        return blocked;
      });
      expect(inFlight).toBeInstanceOf(BrokerConnectionError);
      expect((inFlight as BrokerConnectionError).retryable).toBe(true);

      // The caller retries; the broker has reconnected by itself.
      await broker.enqueue(queue, [encode('during')]);
      sent.push('during');

      // LISTEN is back: a waiting reserve is woken by another process's enqueue, not by the 60 s poll.
      const idleQueue = uniqueName('wake');
      const waiting = broker.reserve(idleQueue, { max: 1, leaseMs: 10_000, waitMs: 10_000 });
      await sleep(500);
      await producer.enqueue(idleQueue, [encode('after reconnect')]);
      const woken = await waiting;
      expect(woken.map((delivery) => decode(delivery.body))).toEqual(['after reconnect']);
      await broker.ack(woken[0]!);

      // Everything arrives: the 40 never reserved, 'during', and the ten held ones after their lease.
      const received: Delivery[] = [];
      const deadline = Date.now() + 15_000;
      while (received.length < sent.length && Date.now() < deadline) {
        const batch = await broker.reserve(queue, { max: 50, leaseMs: 30_000, waitMs: 1_000 });
        for (const delivery of batch) {
          await broker.ack(delivery);
          received.push(delivery);
        }
      }
      expect(received.map((delivery) => decode(delivery.body)).sort()).toEqual([...sent].sort());
      const heldIds = new Set(held.map((delivery) => delivery.id));
      expect(
        received
          .filter((delivery) => heldIds.has(delivery.id))
          .every((delivery) => delivery.deliveries === 2),
      ).toBe(true);
      expect(received.filter((delivery) => heldIds.has(delivery.id))).toHaveLength(10);
    } finally {
      await broker.close();
      await producer.close();
    }
  }, 60_000);
});
