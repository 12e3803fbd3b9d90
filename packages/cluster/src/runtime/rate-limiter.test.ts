import { ManualClock } from '@tasq/core';
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
