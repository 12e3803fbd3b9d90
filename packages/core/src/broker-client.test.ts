import { describe, expect, it } from 'vitest';
import type { Broker, Delivery } from './broker.js';
import { BrokerClient } from './broker-client.js';
import {
  BrokerConnectionError,
  BrokerError,
  CapabilityError,
  InvalidArgumentError,
  PackageTooLargeError,
} from './errors.js';
import { MemoryBroker } from './memory/memory-broker.js';

/** A broker whose server stopped answering: every call hangs. */
function pausedBroker(): Broker {
  const base = new MemoryBroker();
  const hang = () => new Promise<never>(() => undefined);
  return Object.assign(Object.create(base) as Broker, {
    enqueue: hang,
    reserve: hang,
    ack: hang,
    size: hang,
  });
}

describe('broker facade', () => {
  it('gives every call a deadline so a paused server cannot hang the caller', async () => {
    const client = new BrokerClient(pausedBroker(), { callTimeoutMs: 100 });
    const error = await client.size('q').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect((error as Error).message).toContain('size did not answer within 100 ms');
    // reserve's deadline is its wait plus the call timeout
    const started = Date.now();
    await expect(client.reserve('q', { max: 1, leaseMs: 1000, waitMs: 200 })).rejects.toBeInstanceOf(
      BrokerConnectionError,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('checks arguments and capabilities before calling the broker', async () => {
    const calls: string[] = [];
    const base = new MemoryBroker({ maxPackageBytes: 100 });
    const recording = Object.assign(Object.create(base) as Broker, {
      capabilities: { ...base.capabilities, priority: false, extend: false, delay: { maxMs: 1000 } },
      enqueue: (...args: Parameters<Broker['enqueue']>) => {
        calls.push('enqueue');
        return base.enqueue(...args);
      },
    });
    const client = new BrokerClient(recording);
    await expect(client.enqueue('bad queue!', [new Uint8Array(1)])).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(client.enqueue('q', [])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.enqueue('q', [new Uint8Array(1)], { priority: 3 })).rejects.toBeInstanceOf(
      CapabilityError,
    );
    const tooLarge = await client.enqueue('q', [new Uint8Array(101)]).catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(PackageTooLargeError);
    expect((tooLarge as Error).message).toMatch(/101 bytes exceeds the memory broker's limit of 100 bytes/);
    await expect(client.enqueue('q', [new Uint8Array(1)], { delayMs: 5000 })).rejects.toBeInstanceOf(
      CapabilityError,
    );
    await expect(client.reserve('q', { max: 5000, leaseMs: 1000, waitMs: 0 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(client.extend({} as Delivery, 1000)).rejects.toBeInstanceOf(CapabilityError);
    expect(calls).toEqual([]);
    // A delay past the maximum is shortened when the package carries its own eta (core re-delays the rest).
    await client.enqueue('q', [new Uint8Array(1)], { delayMs: 5000, allowDelayHops: true });
    expect(calls).toEqual(['enqueue']);
    expect((await base.size('q')).delayed).toBe(1);
  });

  it('wraps errors from outside the closed set, keeping the cause', async () => {
    const base = new MemoryBroker();
    const failing = Object.assign(Object.create(base) as Broker, {
      purge: () => Promise.reject(new RangeError('driver exploded')),
    });
    const error = await new BrokerClient(failing).purge('q').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as Error).message).toBe('memory broker: purge failed: driver exploded');
    expect((error as Error).cause).toBeInstanceOf(RangeError);
  });
});
