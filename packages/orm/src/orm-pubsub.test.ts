import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { PubSub } from '@tasq/core/backend';
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

const execFileAsync = promisify(execFile);
const writerScript = fileURLToPath(new URL('./test-support/write-once.mjs', import.meta.url));
const skipReason = await requirePostgres();
const schema = uniqueSchema('pubsub');
const folder = temporaryFolder('pubsub');
const sqliteUrl = `sqlite:${folder.file('pubsub.db')}`;
const decode = (message: Uint8Array) => new TextDecoder().decode(message);

afterAll(async () => {
  folder.remove();
  if (!skipReason) await dropSchema(schema);
});

async function until(received: unknown[], count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (received.length < count && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

pubSubConformance('orm (PostgreSQL NOTIFY)', () => createOrmPubSub({ url: postgresUrl, schema }), {
  skipReason,
});
pubSubConformance('orm (SQLite file)', () => createOrmPubSub({ url: sqliteUrl }));

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
    const publisher: PubSub = await createOrmPubSub({ url: postgresUrl, schema });
    const subscriber: PubSub = await createOrmPubSub({ url: postgresUrl, schema });
    try {
      const long = `control.${'x'.repeat(80)}`;
      const got: string[] = [];
      await subscriber.subscribe(`${long}-a`, (message) => got.push(`a:${decode(message)}`));
      await subscriber.subscribe(`${long}-b`, (message) => got.push(`b:${decode(message)}`));
      await publisher.publish(`${long}-b`, new TextEncoder().encode('hello'));
      await until(got, 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(got).toEqual(['b:hello']);
    } finally {
      await publisher.close();
      await subscriber.close();
    }
  });
});

describe('orm pub/sub on SQLite', () => {
  it('delivers a message published by another process, and not one published before subscribing', async () => {
    const broker = await createOrmBroker({ url: sqliteUrl });
    // A one-minute poll: only the change check can deliver within the wait.
    const subscriber = await createOrmPubSub({ url: sqliteUrl, poll: 60_000 });
    try {
      expect(broker.capabilities.pubsub).toBe(true);
      const channel = uniqueName('events');
      const run = (text: string) =>
        execFileAsync(process.execPath, [
          '--disable-warning=ExperimentalWarning',
          writerScript,
          sqliteUrl,
          'message',
          channel,
          text,
        ]);
      await run('before');
      const got: string[] = [];
      await subscriber.subscribe(channel, (message) => got.push(decode(message)));
      await run('after');
      await until(got, 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(got).toEqual(['after']);
    } finally {
      await broker.close();
      await subscriber.close();
    }
  });
});
