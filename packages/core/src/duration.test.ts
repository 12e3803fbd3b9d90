import { describe, expect, it } from 'vitest';
import { durationMs, parseDurationMs, parseRate, parseSizeBytes } from './duration.js';
import { uuidv7, uuidv7Time } from './ids.js';

describe('durations, sizes, rates and ids', () => {
  it('reads seconds and unit strings', () => {
    expect(parseDurationMs(1.5)).toBe(1500);
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1h30m')).toBe(5_400_000);
    expect(parseDurationMs('10')).toBe(10_000);
    expect(parseDurationMs('soon')).toBeUndefined();
    expect(parseDurationMs(-1)).toBeUndefined();
    expect(() => durationMs('5 parsecs', 'delay')).toThrow(/delay: "5 parsecs" is not a duration/);
  });

  it('reads sizes and rates', () => {
    expect(parseSizeBytes(1)).toBe(1024);
    expect(parseSizeBytes('80MB')).toBe(80 * 1024 * 1024);
    expect(parseSizeBytes('lots')).toBeUndefined();
    expect(parseRate('100/s')).toEqual({ count: 100, perMs: 1000 });
    expect(parseRate('10/5m')).toEqual({ count: 10, perMs: 300_000 });
    expect(parseRate('fast')).toBeUndefined();
  });

  it('makes UUIDv7 ids that sort in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidv7Time(uuidv7(1_800_000_000_000))).toBeGreaterThanOrEqual(1_800_000_000_000);
  });
});
