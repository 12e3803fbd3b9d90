import { randomBytes } from 'node:crypto';
import type { Broker, Delivery } from '@tasq/core/backend';

/** A queue name no other test run uses: letters, digits and hyphens only, valid on every broker. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

export function readText(body: Uint8Array): string {
  return new TextDecoder().decode(body);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Wait until `check` returns a value other than undefined/false/null and return it; fail after `timeoutMs`
 * with an error naming `what` was awaited. For tests that watch a cluster or a broker reach a state.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
  intervalMs = 50,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Reserve repeatedly until `count` deliveries have been collected or `timeoutMs` passed. Never acks.
 */
export async function reserveUntil(
  broker: Broker,
  queue: string,
  count: number,
  options: { leaseMs?: number; timeoutMs?: number; max?: number } = {},
): Promise<Delivery[]> {
  const collected: Delivery[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const max = Math.min(options.max ?? broker.capabilities.maxBatch, broker.capabilities.maxBatch);
  while (collected.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    const batch = await broker.reserve(queue, {
      max: Math.min(max, count - collected.length),
      leaseMs: options.leaseMs ?? 30_000,
      waitMs: Math.min(left, 1000),
    });
    collected.push(...batch);
  }
  return collected;
}
