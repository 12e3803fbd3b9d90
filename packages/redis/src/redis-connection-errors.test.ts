/**
 * Redis on a port nothing listens on: every call fails with a retryable BrokerConnectionError that names
 * the server and "connection refused", not what ioredis was doing ("max retries per request"), and never
 * the password of the URL.
 */
import { BrokerConnectionError, type RateLimit } from '@tasq/core/backend';
import { freePort, text } from '@tasq/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisBroker } from './redis-broker.js';
import { RedisPubSub } from './redis-pubsub.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { RedisResultBackend } from './redis-result-backend.js';
import { RedisScheduleStore } from './redis-schedule-store.js';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const each of opened.splice(0)) await each.close();
});

async function failure(call: () => Promise<unknown>): Promise<Error> {
  const error = await call().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(BrokerConnectionError);
  return error as Error;
}

describe('redis on a closed port', () => {
  it('names the address and "connection refused" on every kind of client, never the password', async () => {
    const port = await freePort();
    const url = `redis://app:s3cret-pw@127.0.0.1:${port}/0`;
    const broker = new RedisBroker({ url });
    const results = new RedisResultBackend({ url });
    const schedules = new RedisScheduleStore({ url });
    const pubsub = new RedisPubSub({ url });
    const limiter = new RedisRateLimiter({ url });
    opened.push(broker, results, schedules, pubsub, limiter);
    const limit: RateLimit = { count: 1, perMs: 1000 };
    const errors = [
      await failure(() => broker.enqueue('emails', [text('x')])),
      await failure(() => broker.reserve('emails', { max: 1, leaseMs: 1000, waitMs: 0 })),
      await failure(() => results.get('job-1')),
      await failure(() => schedules.list()),
      await failure(() => pubsub.publish('events', text('x'))),
      await failure(() => limiter.tryTake('email.send', limit)),
    ];
    for (const error of errors) {
      expect(error.message).toContain(`Redis at 127.0.0.1:${port}`);
      expect(error.message).toContain('connection refused');
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).not.toContain('max retries');
      expect(error.message).not.toContain('s3cret-pw');
    }
  });

  it('names the host as configured when it is a host name', async () => {
    const port = await freePort();
    const broker = new RedisBroker({ connection: { host: 'localhost', port, password: 's3cret-pw' } });
    opened.push(broker);
    const error = await failure(() => broker.size('emails'));
    expect(error.message).toContain(`Redis at localhost:${port}`);
    expect(error.message).toContain('connection refused');
    expect(error.message).not.toContain('s3cret-pw');
  });
});
