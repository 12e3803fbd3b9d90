import { randomBytes } from 'node:crypto';
import { requireService } from '@tasq/testing';
import { Redis } from 'ioredis';

/** The shared development/CI Redis; override with TASQ_REDIS_URL. */
export const REDIS_URL = process.env.TASQ_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Skip reason when Redis does not answer (an error under CI=true), else undefined. */
export function redisSkipReason(): Promise<string | undefined> {
  return requireService(`Redis at ${REDIS_URL}`, async () => {
    const client = new Redis(REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
    } finally {
      client.disconnect();
    }
  });
}

/** A key prefix no other test run uses, so runs sharing the server never see each other's keys. */
export function uniquePrefix(label: string): string {
  return `tasq-test-${label}-${randomBytes(4).toString('hex')}`;
}

/** Delete every key starting with `prefix` (SCAN + UNLINK; never FLUSHALL on a shared server). */
export async function deleteKeys(prefix: string): Promise<number> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 });
  client.on('error', () => undefined);
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) removed += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return removed;
}
