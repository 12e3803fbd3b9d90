/**
 * Cron expressions, read and matched by croner: five fields (minute hour day-of-month month day-of-week)
 * or six with seconds first; `*`, numbers, ranges, steps, lists, month and weekday names (0 and 7 are
 * Sunday), croner's `L`, `W` and `#` and its nicknames (`@daily`). As in Vixie cron, when both
 * day-of-month and day-of-week are restricted, a day matching either one matches.
 *
 * croner is asked in UTC about "wall" values (see time-zone.ts): it only matches calendar fields, and
 * tasq's own rule for DST gaps and overlaps (next-run.ts, time-zone.ts) turns a wall time into an instant.
 */
import { Cron } from 'croner';

export interface CronExpression {
  readonly source: string;
  /** @internal croner's matcher over wall values. */
  readonly matcher: Cron;
}

export class CronSyntaxError extends Error {
  constructor(expression: string, problem: string) {
    super(`invalid cron expression "${expression}": ${problem}`);
    this.name = 'CronSyntaxError';
  }
}

/** The six fields as croner numbers them (a five-field expression gets seconds `0` in front). */
const FIELDS = [
  { label: 'second', min: 0, max: 59 },
  { label: 'minute', min: 0, max: 59 },
  { label: 'hour', min: 0, max: 23 },
  { label: 'day of month', min: 1, max: 31 },
  { label: 'month', min: 1, max: 12 },
  { label: 'day of week', min: 0, max: 7 },
] as const;
const CRONER_FIELD_NAMES = ['second', 'minute', 'hour', 'day', 'month', 'dayOfWeek'];

export function parseCron(expression: string): CronExpression {
  const source = expression.trim();
  const fields = source.split(/\s+/);
  if (!source.startsWith('@') && fields.length !== 5 && fields.length !== 6) {
    throw new CronSyntaxError(expression, `expected 5 fields (or 6 with seconds), found ${fields.length}`);
  }
  try {
    return { source: expression, matcher: new Cron(source, { timezone: 'UTC', mode: '5-or-6-parts' }) };
  } catch (error) {
    const withSeconds = fields.length === 5 ? ['0', ...fields] : fields;
    throw new CronSyntaxError(expression, problemOf((error as Error).message, withSeconds));
  }
}

/** croner's message in this module's words, naming the field and what the user wrote in it. */
function problemOf(message: string, fields: string[]): string {
  const text = message.replace(/^CronPattern: /, '');
  const outside = /^Invalid value for (\w+)/.exec(text);
  if (outside) {
    const index = CRONER_FIELD_NAMES.indexOf(outside[1]!);
    const field = FIELDS[index];
    if (field) return `${field.label}: ${fields[index]} is outside ${field.min}-${field.max}`;
  }
  const illegal = /^configuration entry (\d) \((.*)\) contains illegal characters/.exec(text);
  if (illegal) {
    const field = FIELDS[Number(illegal[1])];
    if (field) return `${field.label}: "${illegal[2]}" is not a number`;
  }
  if (/stepping|steps/.test(text)) return `bad step: ${text.replace(/^Syntax error, /, '')}`;
  return text;
}

/** The first wall-clock time strictly after `afterWall` that matches, or undefined when none follows. */
export function nextCronWall(cron: CronExpression, afterWall: number): number | undefined {
  return cron.matcher.nextRun(new Date(afterWall))?.getTime() ?? undefined;
}
