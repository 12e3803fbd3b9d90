import { ManualClock, silentLogger } from '@tasq/core';
import type { RateLimit, RateLimitDecision, RateLimiter } from '@tasq/core/backend';
import { describe, expect, it } from 'vitest';
import { RateLimits, TokenBucket } from './rate-limiter.js';

describe('TokenBucket', () => {
  it('allows a full burst, then refills at the rate', async () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket('10/s', clock);
    expect(bucket.take(25)).toBe(10);
    expect(bucket.take(1)).toBe(0);
    expect(bucket.waitMs()).toBe(100);
    await clock.advance(250);
    expect(bucket.take(10)).toBe(2);
    await clock.advance(10_000);
    expect(bucket.take(100)).toBe(10);
  });

  it('takes back tokens a short reserve did not use', () => {
    const bucket = new TokenBucket('5/m', new ManualClock());
    expect(bucket.take(5)).toBe(5);
    bucket.giveBack(3);
    expect(bucket.take(5)).toBe(3);
  });

  it('refuses a rate it cannot read', () => {
    expect(() => new TokenBucket('fast', new ManualClock())).toThrow(/invalid rate "fast"/);
  });
});

describe('RateLimits', () => {
  it('keys queues by `queue:` and tasks by name; configuration wins over task defaults', () => {
    const clock = new ManualClock();
    const limits = new RateLimits({ 'queue:emails': '100/s', 'reports.build': '2/m' }, clock);
    limits.addTaskDefault('reports.build', '1000/s');
    limits.addTaskDefault('images.resize', '3/s');
    expect(limits.forQueue('emails')?.capacity).toBe(100);
    expect(limits.forTask('reports.build')?.capacity).toBe(2);
    expect(limits.forTask('images.resize')?.capacity).toBe(3);
    expect(limits.forTask('other')).toBeUndefined();
  });
});

/** A limiter with a fixed allowance per key (what a shared server-side bucket has left). */
class AllowanceLimiter implements RateLimiter {
  readonly asked: string[] = [];
  constructor(readonly allowance: Map<string, number>) {}
  async tryTake(key: string, _limit: RateLimit, tokens = 1): Promise<RateLimitDecision> {
    this.asked.push(key);
    const left = this.allowance.get(key) ?? 0;
    if (left < tokens) return { allowed: false, retryInMs: 30 };
    this.allowance.set(key, left - tokens);
    return { allowed: true, retryInMs: 0 };
  }
  async close(): Promise<void> {}
}

describe('RateLimits shared through a cluster-wide limiter', () => {
  it('takes task and queue limits before a start, keeps a granted token, and asks again after the wait', async () => {
    const limits = new RateLimits({ 'reports.build': '2/s', 'queue:emails': '5/s' }, new ManualClock());
    const limiter = new AllowanceLimiter(new Map([['task:reports.build', 1]]));
    let wakes = 0;
    limits.share(limiter, () => wakes++, silentLogger);
    expect(limits.scope).toBe('shared');
    // The fetcher no longer limits the queue: the shared limiter cannot give unused tokens back.
    expect(limits.forQueue('emails')).toBeUndefined();
    expect(limits.gatesFor('other.task', 'default')).toEqual([]);

    const gates = limits.gatesFor('reports.build', 'emails');
    expect(gates).toHaveLength(2);
    expect(gates.map((gate) => gate.ready())).toEqual([false, false]);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(limiter.asked.sort()).toEqual(['queue:emails', 'task:reports.build']);
    expect(wakes).toBe(1);
    // The task token is held while the queue limit refuses, not wasted.
    expect(gates.map((gate) => gate.ready())).toEqual([true, false]);
    limiter.allowance.set('queue:emails', 1);
    // Refused: the gate wakes the dispatcher once the limiter's wait is over, and asks when asked again.
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(wakes).toBe(2);
    expect(gates[1]!.ready()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(gates.map((gate) => gate.ready())).toEqual([true, true]);
    for (const gate of gates) gate.consume();
    expect(limiter.asked.filter((key) => key === 'task:reports.build')).toHaveLength(1);
    limits.close();
  });

  it('stays per cluster until shared', () => {
    const limits = new RateLimits({ 'queue:emails': '5/s', 'reports.build': '2/s' }, new ManualClock());
    expect(limits.scope).toBe('cluster');
    expect(limits.forQueue('emails')?.capacity).toBe(5);
    expect(limits.gatesFor('reports.build', 'emails')).toEqual([limits.forTask('reports.build')]);
  });
});
