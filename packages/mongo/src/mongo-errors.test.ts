/**
 * Error mapping against the driver's own error classes: constructed directly where the driver lets them
 * be, and produced for real by a client pointed at a port where nothing listens.
 */
import { BrokerConnectionError, BrokerError, ConfigError, LeaseLostError } from '@tasq/core/backend';
import {
  MongoClient,
  MongoNetworkError,
  MongoNetworkTimeoutError,
  MongoParseError,
  MongoServerError,
  MongoServerSelectionError,
} from 'mongodb';
import { freePort } from '@tasq/testing';
import { describe, expect, it } from 'vitest';
import { isDuplicateKeyError, mapDriverErrors, toTasqError } from './mongo-errors.js';
import { MongoBroker } from './mongo-broker.js';

describe('toTasqError', () => {
  it('maps network errors to BrokerConnectionError, naming the operation and keeping the cause', () => {
    const cause = new MongoNetworkError('connection 3 to 10.0.0.5:27017 closed');
    const mapped = toTasqError(cause, 'reserve on queue "emails"');
    expect(mapped).toBeInstanceOf(BrokerConnectionError);
    expect(mapped.message).toBe(
      'mongo: reserve on queue "emails" failed, MongoDB unavailable: connection 3 to 10.0.0.5:27017 closed',
    );
    expect(mapped.cause).toBe(cause);
    expect(toTasqError(new MongoNetworkTimeoutError('timed out'), 'ack')).toBeInstanceOf(
      BrokerConnectionError,
    );
  });

  it('maps elections and shutdowns reported by the server to BrokerConnectionError', () => {
    const notPrimary = new MongoServerError({
      ok: 0,
      code: 10107,
      codeName: 'NotWritablePrimary',
      errmsg: 'not primary',
    });
    const shuttingDown = new MongoServerError({ ok: 0, code: 91, errmsg: 'shutdown in progress' });
    const labelled = new MongoServerError({
      ok: 0,
      code: 112,
      errmsg: 'write conflict',
      errorLabels: ['RetryableWriteError'],
    });
    for (const error of [notPrimary, shuttingDown, labelled]) {
      expect(toTasqError(error, 'enqueue')).toBeInstanceOf(BrokerConnectionError);
    }
  });

  it('maps other server errors to a plain BrokerError carrying the server code name', () => {
    const unauthorized = new MongoServerError({
      ok: 0,
      code: 13,
      codeName: 'Unauthorized',
      errmsg: 'not authorized on tasq to execute command { insert: "tasq_packages" }',
    });
    const mapped = toTasqError(unauthorized, 'enqueue on queue "emails"');
    expect(mapped).toBeInstanceOf(BrokerError);
    expect(mapped).not.toBeInstanceOf(BrokerConnectionError);
    expect(mapped.message).toContain('server error Unauthorized');
    expect(mapped.message).toContain('not authorized on tasq');
  });

  it('maps an unparsable connection string to a ConfigError naming url', () => {
    const mapped = toTasqError(new MongoParseError('Invalid scheme'), 'connect');
    expect(mapped).toBeInstanceOf(ConfigError);
    expect((mapped as ConfigError).issues).toEqual(['url: Invalid scheme']);
  });

  it('lets tasq errors through unchanged, and wraps anything else as BrokerError', async () => {
    const lost = new LeaseLostError('moved on');
    expect(toTasqError(lost, 'ack')).toBe(lost);
    await expect(mapDriverErrors('purge', async () => Promise.reject(new TypeError('boom')))).rejects.toThrow(
      new BrokerError('mongo: purge failed: boom'),
    );
  });

  it('recognises duplicate-key errors, and only those', () => {
    const duplicate = new MongoServerError({ ok: 0, code: 11000, errmsg: 'E11000 duplicate key error' });
    expect(isDuplicateKeyError(duplicate)).toBe(true);
    expect(isDuplicateKeyError(new MongoServerError({ ok: 0, code: 13, errmsg: 'no' }))).toBe(false);
    expect(isDuplicateKeyError(new Error('E11000'))).toBe(false);
    expect(toTasqError(duplicate, 'save')).not.toBeInstanceOf(BrokerConnectionError);
  });
});

describe('an unreachable server', () => {
  // Port 1 on the loopback interface: nothing listens there, so the driver's server selection times out.
  const unreachable = 'mongodb://127.0.0.1:1/tasq';

  it('makes the driver raise a real MongoServerSelectionError, which maps to BrokerConnectionError', async () => {
    const client = new MongoClient(unreachable, { serverSelectionTimeoutMS: 300 });
    const error = await client
      .db()
      .command({ ping: 1 })
      .catch((e: unknown) => e)
      .finally(() => client.close());
    expect(error).toBeInstanceOf(MongoServerSelectionError);
    const mapped = toTasqError(error, 'ping');
    expect(mapped).toBeInstanceOf(BrokerConnectionError);
    expect(mapped.message).toContain('127.0.0.1:1');
  });

  it('fails MongoBroker.open with BrokerConnectionError naming the address and "connection refused", never the password', async () => {
    const port = await freePort();
    for (const host of ['127.0.0.1', 'localhost']) {
      const error = await MongoBroker.open({
        url: `mongodb://app:s3cret-pw@${host}:${port}/tasq`,
        clientOptions: { serverSelectionTimeoutMS: 300 },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerConnectionError);
      expect((error as Error).message).toMatch(
        new RegExp(`^mongo: connect failed: cannot reach MongoDB at ${host}:${port}: connection refused`),
      );
      expect((error as Error).message).not.toContain('s3cret-pw');
      expect((error as Error).cause).toBeInstanceOf(MongoServerSelectionError);
    }
  });
});
