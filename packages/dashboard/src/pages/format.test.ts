import { describe, expect, it } from 'vitest';
import { formatDuration } from './format.js';

describe('durations', () => {
  it('leave out a zero second unit', () => {
    expect(formatDuration(600_000)).toBe('10 min');
    expect(formatDuration(610_000)).toBe('10 min 10 s');
    expect(formatDuration(7_200_000)).toBe('2 h');
    expect(formatDuration(2 * 86_400_000 + 3_600_000)).toBe('2 d 1 h');
    expect(formatDuration(45_000)).toBe('45 s');
  });
});
