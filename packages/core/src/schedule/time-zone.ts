/**
 * Wall-clock time in a named zone, with the one rule tasq uses at DST changes (the same as Temporal's
 * "compatible" disambiguation):
 *
 * - a wall-clock time that does not exist (spring forward: 02:30 in Europe/Berlin on the last Sunday of
 *   March) is moved forward by the length of the gap (→ 03:30);
 * - a wall-clock time that exists twice (fall back: 02:30 on the last Sunday of October) means its first
 *   occurrence.
 *
 * "Wall" values are milliseconds on a UTC-based scale that stands for the local date and time, so date
 * arithmetic on them (add a day, add a month) is plain Date.UTC arithmetic.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** Throws a RangeError naming the zone when it is not an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new RangeError(
      `unknown time zone "${timeZone}" (use an IANA name such as "Europe/Berlin" or "UTC")`,
    );
  }
}

/** The wall-clock reading of `instant` in `timeZone`, as a wall value. */
export function toWall(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const seconds = Math.floor(instant / 1000);
  const milliseconds = instant - seconds * 1000;
  return (
    Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) +
    milliseconds
  );
}

/** The zone's offset from UTC at `instant`, in ms. */
export function offsetAt(instant: number, timeZone: string): number {
  return toWall(instant, timeZone) - instant;
}

const DAY = 86_400_000;

/** The instant a wall-clock time in `timeZone` stands for, under the rule above. */
export function fromWall(wall: number, timeZone: string): number {
  // Offsets a day either side cover any single transition around this wall time.
  const before = offsetAt(wall - DAY, timeZone);
  const after = offsetAt(wall + DAY, timeZone);
  const candidates = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((instant) => toWall(instant, timeZone) === wall)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return candidates[0]!;
  // In a gap: read the wall time with the offset from before the change, which lands after the gap.
  return wall - before;
}
