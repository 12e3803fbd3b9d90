import { describe, expect, it } from 'vitest';
import { pauseAfter } from './pacing.js';

describe('pauseAfter', () => {
  it('keeps the period while reads are quick', () => {
    expect(pauseAfter(3, 2_000, 10)).toBe(2_000);
    expect(pauseAfter(199, 2_000, 10)).toBe(2_000);
  });

  it('waits ten times a slow read, so reading takes at most a tenth of the time', () => {
    expect(pauseAfter(950, 2_000, 10)).toBe(9_500);
    expect(pauseAfter(4_000.2, 2_000, 10)).toBe(40_002);
  });

  it('falls back to the period when the duration is not a number of 0 or more', () => {
    expect(pauseAfter(Number.NaN, 2_000, 10)).toBe(2_000);
    expect(pauseAfter(-5, 2_000, 10)).toBe(2_000);
  });
});
