import { afterEach, describe, expect, it } from 'vitest';
import { BrokerClient } from './broker-client.js';
import { ChordFailedError, chordClaimKey, chordHoldOf, endChordHold, settleChord } from './chord.js';
import { ManualClock } from './clock.js';
import { connect, type Tasq } from './client.js';
import { BrokerError } from './errors.js';
import { executeTask } from './execute.js';
import type { Delivery } from './broker.js';
import type { MemoryBroker } from './memory/memory-broker.js';
import { MemoryResultBackend } from './memory/memory-result-backend.js';
import type { ResultBackend, TaskResult } from './result-backend.js';
import { defineTask } from './task.js';
import type { TaskPackage } from './task-package.js';
import { runtimeServicesOf } from './runtime-services.js';

const double = defineTask('chord-test.double', (n: number) => n * 2);
const fail = defineTask('chord-test.fail', (message: string) => {
  throw new Error(message);
});
let flakyFails = true;
const flaky = defineTask('chord-test.flaky', (n: number) => {
  if (flakyFails) throw new Error('not yet');
  return n;
});
let callbackRuns = 0;
const total = defineTask('chord-test.total', (values: number[]) => {
  callbackRuns++;
  return values.reduce((a, b) => a + b, 0);
});

let counter = 0;
const clients: Tasq[] = [];
async function client(): Promise<Tasq> {
  counter++;
  const tasq = await connect({ name: `chord-test-${counter}`, brokerClass: 'memory' });
  clients.push(tasq);
  return tasq;
}

/** A second cluster of the same deployment: its own result backend client over the same store and broker. */
async function otherCluster(first: Tasq): Promise<Tasq> {
  const other = await client();
  const store = (runtimeServicesOf(first).results as MemoryResultBackend).store;
  Object.assign(runtimeServicesOf(other), {
    broker: runtimeServicesOf(first).broker,
    results: new MemoryResultBackend({ store }),
  });
  return other;
}

afterEach(async () => {
  callbackRuns = 0;
  flakyFails = true;
  for (const tasq of clients.splice(0)) await tasq.close();
});

/** Reserve every ready package of the default queue, decoded. */
async function reserveAll(tasq: Tasq): Promise<{ delivery: Delivery; pkg: TaskPackage }[]> {
  const deliveries = await runtimeServicesOf(tasq).broker.reserve('default', {
    max: 100,
    leaseMs: 60_000,
    waitMs: 0,
  });
  return deliveries.map((delivery) => ({
    delivery,
    pkg: runtimeServicesOf(tasq).codec.decode(delivery.body),
  }));
}

/** Run and save a reserved package, as a cluster does before its follow-ups. */
async function runAndSave(tasq: Tasq, pkg: TaskPackage): Promise<TaskResult> {
  const result = await executeTask(runtimeServicesOf(tasq).registry, pkg, { deliveries: 1 });
  await runtimeServicesOf(tasq).results.save(result);
  return result;
}

/** Run every ready job to the end, follow-ups included (a cluster reduced to its core). */
async function work(tasq: Tasq): Promise<void> {
  for (let batch = await reserveAll(tasq); batch.length > 0; batch = await reserveAll(tasq)) {
    for (const { delivery, pkg } of batch) {
      await runtimeServicesOf(tasq).sendFollowUps(pkg, await runAndSave(tasq, pkg));
      await runtimeServicesOf(tasq).broker.ack(delivery);
    }
  }
}

/** The result backend of `tasq`, failing `claimOnce` of a chord hold `times` times as an unreachable store does. */
function withUnreachableHoldClaims(tasq: Tasq, times: number): void {
  const backend = runtimeServicesOf(tasq).results;
  let left = times;
  const flaky = new Proxy(backend, {
    get(target, property) {
      if (property === 'claimOnce') {
        return async (key: string, ttlMs?: number) => {
          if (key.startsWith('chord:') && left > 0) {
            left--;
            throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
          }
          return target.claimOnce(key, ttlMs);
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  Object.assign(runtimeServicesOf(tasq), { results: flaky as ResultBackend });
}

describe('chord bookkeeping', () => {
  it('settles nothing until every member has an outcome, then the callback with the values in member order', async () => {
    const tasq = await client();
    const handle = await tasq.chord([double.s(1), double.s(2), double.s(3)], total.s()).enqueue();
    const members = await reserveAll(tasq);
    expect(members).toHaveLength(3);
    // Members finish out of order: the callback still gets their values in the order they were given.
    for (const { pkg } of [members[2]!, members[0]!]) {
      await runAndSave(tasq, pkg);
      expect(await settleChord(pkg, runtimeServicesOf(tasq).results)).toBeUndefined();
    }
    await runAndSave(tasq, members[1]!.pkg);
    const settlement = await settleChord(members[1]!.pkg, runtimeServicesOf(tasq).results);
    expect(settlement?.kind).toBe('callback');
    if (settlement?.kind !== 'callback') return;
    expect(settlement.callback.id).toBe(handle.id);
    expect(settlement.callback.signature.name).toBe('chord-test.total');
    expect(settlement.callback.signature.args).toEqual([[2, 4, 6]]);
    expect(settlement.hold).toBe(chordClaimKey(members[1]!.pkg.group!));
  });

  it('settles a chord with a failed member as the failure of its callback, naming the member', async () => {
    const tasq = await client();
    const handle = await tasq.chord([double.s(1), fail.s('no disk')], total.s()).enqueue();
    const members = await reserveAll(tasq);
    for (const { pkg } of members) await runAndSave(tasq, pkg);
    const settlement = await settleChord(members[1]!.pkg, runtimeServicesOf(tasq).results);
    expect(settlement?.kind).toBe('failed');
    if (settlement?.kind !== 'failed') return;
    expect(settlement.failure.id).toBe(handle.id);
    expect(settlement.failure.error).toBeInstanceOf(ChordFailedError);
    expect(settlement.failure.error.message).toContain('chord-test.fail');
    expect(settlement.failure.error.message).toContain('no disk');
  });

  it('holds only chord members: a plain job or group member carries no claim key', async () => {
    const tasq = await client();
    await tasq.enqueue(double, 1);
    await tasq.group([double.s(2)]).enqueue();
    await tasq.chord([double.s(3)], total.s()).enqueue({ group: 'held-group' });
    const reserved = await reserveAll(tasq);
    expect(reserved.map(({ pkg }) => chordHoldOf(pkg))).toEqual([
      {},
      {},
      { keepUntilClaimed: chordClaimKey('held-group') },
    ]);
    // Their stored results say the same, and only the chord member's settles anything.
    for (const { pkg } of reserved) await runAndSave(tasq, pkg);
    const stored = await Promise.all(reserved.map(({ pkg }) => runtimeServicesOf(tasq).results.get(pkg.id)));
    expect(stored.map((r) => r?.keepUntilClaimed)).toEqual([
      undefined,
      undefined,
      chordClaimKey('held-group'),
    ]);
    expect(await settleChord(reserved[0]!.pkg, runtimeServicesOf(tasq).results)).toBeUndefined();
    expect(await settleChord(reserved[1]!.pkg, runtimeServicesOf(tasq).results)).toBeUndefined();
    expect((await settleChord(reserved[2]!.pkg, runtimeServicesOf(tasq).results))?.kind).toBe('callback');
  });

  it('sends the callback once when the last members finish at the same moment on two clusters', async () => {
    const first = await client();
    const second = await otherCluster(first);
    const handle = await first.chord([double.s(1), double.s(2)], total.s()).enqueue();
    const [a, b] = await reserveAll(first);
    // Both results are stored before either cluster looks at the group: each sees it complete.
    const [resultA, resultB] = [await runAndSave(first, a!.pkg), await runAndSave(second, b!.pkg)];
    await Promise.all([
      runtimeServicesOf(first).sendFollowUps(a!.pkg, resultA),
      runtimeServicesOf(second).sendFollowUps(b!.pkg, resultB),
    ]);
    await runtimeServicesOf(first).broker.ack(a!.delivery);
    await runtimeServicesOf(first).broker.ack(b!.delivery);

    expect((await runtimeServicesOf(first).broker.size('default')).ready).toBe(1);
    await work(first);
    expect(await handle.result({ timeout: 1000 })).toBe(6);
    expect(callbackRuns).toBe(1);
    // The chord is settled: its members are results like any other now.
    expect(await runtimeServicesOf(first).results.prune({ saveLimit: -1 })).toBe(3);
  });

  it('sends the callback when the last member crashed between its save and its follow-ups, on its next delivery', async () => {
    const tasq = await client();
    const handle = await tasq.chord([double.s(1), double.s(2)], total.s()).enqueue();
    const [a, b] = await reserveAll(tasq);
    await runtimeServicesOf(tasq).sendFollowUps(a!.pkg, await runAndSave(tasq, a!.pkg));
    await runtimeServicesOf(tasq).broker.ack(a!.delivery);
    // The cluster running b saves its result and dies: no follow-ups, no ack. Its lease runs out.
    await runAndSave(tasq, b!.pkg);
    await runtimeServicesOf(tasq).broker.release(b!.delivery);
    // Pruning in the meantime keeps both members: the chord is not settled.
    await runtimeServicesOf(tasq).results.prune({ saveLimit: -1 });
    expect((await runtimeServicesOf(tasq).results.group(a!.pkg.group!)).map((r) => r.result)).toEqual([2, 4]);

    await work(tasq);
    expect(await handle.result({ timeout: 1000 })).toBe(6);
    expect(callbackRuns).toBe(1);
  });

  it('keeps the members and sends the callback once when the cluster died after sending it, before the hold ended', async () => {
    const tasq = await client();
    const handle = await tasq.chord([double.s(1), double.s(2)], total.s()).enqueue();
    const [a, b] = await reserveAll(tasq);
    await runtimeServicesOf(tasq).sendFollowUps(a!.pkg, await runAndSave(tasq, a!.pkg));
    await runtimeServicesOf(tasq).broker.ack(a!.delivery);
    const resultB = await runAndSave(tasq, b!.pkg);
    // The callback goes out, then the hold cannot be ended: the member is not acked and runs again.
    withUnreachableHoldClaims(tasq, 1);
    await expect(runtimeServicesOf(tasq).sendFollowUps(b!.pkg, resultB)).rejects.toThrow('ECONNREFUSED');
    expect((await runtimeServicesOf(tasq).broker.size('default')).ready).toBe(1);
    expect(await runtimeServicesOf(tasq).results.prune({ saveLimit: -1 })).toBe(0);

    // Its next run finds the callback sent: nothing goes out twice, and the hold ends.
    await runtimeServicesOf(tasq).sendFollowUps(b!.pkg, await runAndSave(tasq, b!.pkg));
    await runtimeServicesOf(tasq).broker.ack(b!.delivery);
    expect((await runtimeServicesOf(tasq).broker.size('default')).ready).toBe(1);
    expect(await runtimeServicesOf(tasq).results.prune({ saveLimit: -1 })).toBe(2);
    await work(tasq);
    expect(await handle.result({ timeout: 1000 })).toBe(6);
    expect(callbackRuns).toBe(1);
  });

  it('keeps the members while the callback cannot be sent, and sends it on the next run', async () => {
    const tasq = await client();
    const handle = await tasq.chord([double.s(5)], total.s()).enqueue();
    const [member] = await reserveAll(tasq);
    const result = await runAndSave(tasq, member!.pkg);
    const memory = runtimeServicesOf(tasq).broker.broker as MemoryBroker;
    const refusing = new Proxy(memory, {
      get(target, property) {
        if (property === 'enqueue') {
          return async () => {
            throw new BrokerError('message refused');
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    Object.assign(runtimeServicesOf(tasq), { broker: new BrokerClient(refusing) });
    await expect(runtimeServicesOf(tasq).sendFollowUps(member!.pkg, result)).rejects.toThrow(
      'message refused',
    );
    expect(await runtimeServicesOf(tasq).results.prune({ saveLimit: -1 })).toBe(0);
    expect(await runtimeServicesOf(tasq).results.get(member!.pkg.id)).toMatchObject({ result: 10 });

    Object.assign(runtimeServicesOf(tasq), { broker: new BrokerClient(memory) });
    await runtimeServicesOf(tasq).sendFollowUps(member!.pkg, result);
    await memory.ack(member!.delivery);
    await work(tasq);
    expect(await handle.result({ timeout: 1000 })).toBe(10);
    expect(callbackRuns).toBe(1);
  });

  it("stores a failed chord's callback failure, and ends the hold of its members", async () => {
    const first = await client();
    const second = await otherCluster(first);
    const handle = await first.chord([fail.s('bad input'), double.s(2)], total.s()).enqueue();
    const [a, b] = await reserveAll(first);
    const [resultA, resultB] = [await runAndSave(first, a!.pkg), await runAndSave(second, b!.pkg)];
    await Promise.all([
      runtimeServicesOf(first).sendFollowUps(a!.pkg, resultA),
      runtimeServicesOf(second).sendFollowUps(b!.pkg, resultB),
    ]);

    expect((await runtimeServicesOf(first).broker.size('default')).ready).toBe(0);
    await expect(handle.result({ timeout: 1000 })).rejects.toThrow('bad input');
    expect(callbackRuns).toBe(0);
    // The success among the members is no longer held (failures are never pruned).
    expect(await runtimeServicesOf(first).results.prune({ saveLimit: -1 })).toBe(1);
  });

  it('never runs the callback of a chord whose failure is stored, even when the failed member later succeeds', async () => {
    const tasq = await client();
    const handle = await tasq.chord([double.s(1), flaky.s(2)], total.s()).enqueue();
    const [a, b] = await reserveAll(tasq);
    await runtimeServicesOf(tasq).sendFollowUps(a!.pkg, await runAndSave(tasq, a!.pkg));
    await runtimeServicesOf(tasq).broker.ack(a!.delivery);
    await runtimeServicesOf(tasq).sendFollowUps(b!.pkg, await runAndSave(tasq, b!.pkg));
    await expect(handle.result({ timeout: 1000 })).rejects.toThrow('not yet');
    // Its ack is lost: b is delivered again and succeeds this time, completing the group with successes.
    await runtimeServicesOf(tasq).broker.release(b!.delivery);
    flakyFails = false;
    await work(tasq);
    expect(await runtimeServicesOf(tasq).results.get(b!.pkg.id)).toMatchObject({
      status: 'success',
      result: 2,
    });
    expect(callbackRuns).toBe(0);
    await expect(handle.result({ timeout: 1000 })).rejects.toThrow('not yet');
  });

  it('keeps the members past `cached` and the save limit while the chord is open, and not after it is settled', async () => {
    const tasq = await client();
    const clock = new ManualClock();
    const backend = new MemoryResultBackend({ clock, cached: 1 });
    await tasq.chord([double.s(1), double.s(2)], total.s()).enqueue();
    const [a, b] = await reserveAll(tasq);
    await backend.save(await executeTask(runtimeServicesOf(tasq).registry, a!.pkg));
    // The second member finishes long after the first one's time to live, with pruning in between.
    await clock.advance(60_000);
    expect(await backend.prune({ saveLimit: -1 })).toBe(0);
    await backend.save(await executeTask(runtimeServicesOf(tasq).registry, b!.pkg));
    const settlement = await settleChord(b!.pkg, backend);
    expect(settlement?.kind === 'callback' && settlement.callback.signature.args).toEqual([[2, 4]]);

    await endChordHold(backend, settlement!.hold);
    await clock.advance(1_001);
    expect(await backend.group(a!.pkg.group!)).toEqual([]);
  });
});
