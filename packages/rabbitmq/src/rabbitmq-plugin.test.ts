/**
 * The broker as a configuration creates it (`brokerClass: "@tasq/rabbitmq"`): its prefetch follows the
 * cluster's queueLimit unless the broker options set one.
 */
import { resolveConfig } from '@tasq/core';
import { openRuntimeServices } from '@tasq/core/internal';
import { uniqueName } from '@tasq/testing';
import { describe, expect, it } from 'vitest';
import { RABBITMQ_URL, rabbitSkipReason } from './test-support/rabbitmq-server.js';

const skipReason = await rabbitSkipReason();

async function maxBatchOf(input: Record<string, unknown>): Promise<number> {
  const config = resolveConfig(
    {
      name: uniqueName('plugin'),
      brokerClass: '@tasq/rabbitmq',
      resultBackend: { class: 'memory' },
      ...input,
    },
    { env: {} },
  );
  const services = await openRuntimeServices(config);
  try {
    return services.broker.capabilities.maxBatch;
  } finally {
    await services.close();
  }
}

describe.skipIf(skipReason !== undefined)(
  `rabbitmq plugin${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    it("takes the cluster's queueLimit as its prefetch when the broker options set none", async () => {
      const brokerOptions = { url: RABBITMQ_URL };
      // Concurrency 50 on one worker holds 200 ahead by default; so does the consumer now.
      expect(await maxBatchOf({ workers: 1, concurrency: 50, brokerOptions })).toBe(200);
      expect(await maxBatchOf({ workers: 1, concurrency: 2, queueLimit: 7, brokerOptions })).toBe(7);
    });

    it('keeps a prefetch the broker options set', async () => {
      const brokerOptions = { url: RABBITMQ_URL, prefetch: 30 };
      expect(await maxBatchOf({ workers: 1, concurrency: 50, brokerOptions })).toBe(30);
    });
  },
);
