import { CapabilityError } from '@tasq/core';
import { pubSubConformance, uniqueName } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmBroker, createOrmPubSub } from './index.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
} from './test-support/databases.js';

const skipReason = await requirePostgres();
const schema = uniqueSchema('pubsub');
const folder = temporaryFolder('pubsub');

afterAll(async () => {
  folder.remove();
  if (!skipReason) await dropSchema(schema);
});

pubSubConformance('orm (PostgreSQL NOTIFY)', () => createOrmPubSub({ url: postgresUrl, schema }), {
  skipReason,
});

describe.skipIf(skipReason !== undefined)('orm pub/sub on PostgreSQL', () => {
  it('is announced by the broker, and refuses a message over the NOTIFY limit by name', async () => {
    const broker = await createOrmBroker({ url: postgresUrl, schema });
    const pubsub = await createOrmPubSub({ url: postgresUrl, schema });
    try {
      expect(broker.capabilities.pubsub).toBe(true);
      const tooBig = new Uint8Array(pubsub.maxMessageBytes + 1);
      await expect(pubsub.publish(uniqueName('big'), tooBig)).rejects.toThrow(
        /exceeds the PostgreSQL limit of 5997 bytes/,
      );
    } finally {
      await broker.close();
      await pubsub.close();
    }
  });

  it('keeps a channel name longer than a PostgreSQL identifier distinct from its neighbours', async () => {
    const [publisher, subscriber] = [
      await createOrmPubSub({ url: postgresUrl, schema }),
      await createOrmPubSub({ url: postgresUrl, schema }),
    ];
    try {
      const long = `control.${'x'.repeat(80)}`;
      const got: string[] = [];
      await subscriber.subscribe(`${long}-a`, (message) =>
        got.push(`a:${new TextDecoder().decode(message)}`),
      );
      await subscriber.subscribe(`${long}-b`, (message) =>
        got.push(`b:${new TextDecoder().decode(message)}`),
      );
      await publisher.publish(`${long}-b`, new TextEncoder().encode('hello'));
      const deadline = Date.now() + 5_000;
      while (got.length === 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(got).toEqual(['b:hello']);
    } finally {
      await publisher.close();
      await subscriber.close();
    }
  });
});

describe('orm pub/sub on SQLite', () => {
  it('is refused with a CapabilityError, and the broker says it has none', async () => {
    const url = `sqlite:${folder.file('pubsub.db')}`;
    const broker = await createOrmBroker({ url });
    try {
      expect(broker.capabilities.pubsub).toBe(false);
      const error = await createOrmPubSub({ url }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CapabilityError);
      expect((error as Error).message).toMatch(/pub\/sub needs PostgreSQL/);
    } finally {
      await broker.close();
    }
  });
});
