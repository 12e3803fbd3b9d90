/**
 * Durations in configuration and options: a number is seconds (as in the Django-Q2 reference), a string
 * carries its unit: "250ms", "10s", "5m", "2h", "1d", or combinations like "1h30m".
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

export type Duration = number | string;

/** Milliseconds, or undefined for input that is not a duration. */
export function parseDurationMs(value: Duration): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  PART.lastIndex = 0;
  let total = 0;
  let matched = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    matched = PART.lastIndex;
  }
  return matched === text.length && matched > 0 ? total : undefined;
}

/** Like parseDurationMs, but throws a TypeError naming `what`. */
export function durationMs(value: Duration, what = 'duration'): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    throw new TypeError(
      `${what}: ${JSON.stringify(value)} is not a duration (use seconds, or "250ms", "10s", "5m", "2h")`,
    );
  }
  return ms;
}

/** Sizes: a number is kilobytes (as the reference's max_rss); strings take KB, MB, GB (powers of 1024). */
export function parseSizeBytes(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value * 1024 : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?\s*$/i.exec(value);
  if (!match) return undefined;
  const unit = (match[2] ?? 'kb').toLowerCase();
  const factor =
    unit === 'b' ? 1 : unit.startsWith('k') ? 1024 : unit.startsWith('m') ? 1024 ** 2 : 1024 ** 3;
  return Number(match[1]) * factor;
}

/** Rate limits: "100/s", "10/m", "1000/h" → tokens per millisecond window. */
export function parseRate(value: string): { count: number; perMs: number } | undefined {
  const match = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h|d)\s*$/.exec(value);
  if (!match) return undefined;
  const count = Number(match[1]);
  const multiple = match[2] ? Number(match[2]) : 1;
  if (count <= 0 || multiple <= 0) return undefined;
  return { count, perMs: multiple * UNIT_MS[match[3]!]! };
}
