/**
 * Cron expressions: five fields (minute hour day-of-month month day-of-week) or six with seconds first.
 * Each field takes `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, lists `a,b`, and names for
 * months (jan-dec) and weekdays (sun-sat; 0 and 7 are Sunday). As in Vixie cron, when both
 * day-of-month and day-of-week are restricted, a day matching either one matches.
 */

export interface CronExpression {
  readonly source: string;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export class CronSyntaxError extends Error {
  constructor(expression: string, problem: string) {
    super(`invalid cron expression "${expression}": ${problem}`);
    this.name = 'CronSyntaxError';
  }
}

function parseField(
  expression: string,
  field: string,
  label: string,
  min: number,
  max: number,
  names?: readonly string[],
): { values: number[]; restricted: boolean } {
  const values = new Set<number>();
  const value = (text: string) => {
    const index = names?.indexOf(text.toLowerCase()) ?? -1;
    const number = index >= 0 ? index + (label === 'month' ? 1 : 0) : Number(text);
    if (!/^\d+$/.test(text) && index < 0)
      throw new CronSyntaxError(expression, `${label}: "${text}" is not a number`);
    if (number < min || number > max) {
      throw new CronSyntaxError(expression, `${label}: ${number} is outside ${min}-${max}`);
    }
    return number;
  };
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1)
      throw new CronSyntaxError(expression, `${label}: bad step "${stepText}"`);
    let from: number;
    let to: number;
    if (range === '*' || range === '?') {
      from = min;
      to = max;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-') as [string, string];
      from = value(a);
      to = value(b);
      if (from > to) throw new CronSyntaxError(expression, `${label}: range ${range} runs backwards`);
    } else {
      from = value(range);
      to = stepText === undefined ? from : max;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return { values: [...values].sort((a, b) => a - b), restricted: field !== '*' && field !== '?' };
}

export function parseCron(expression: string): CronExpression {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new CronSyntaxError(expression, `expected 5 fields (or 6 with seconds), found ${fields.length}`);
  }
  const [second, minute, hour, dom, month, dow] = fields.length === 6 ? fields : ['0', ...fields];
  const daysOfWeek = parseField(expression, dow!, 'day of week', 0, 7, WEEKDAYS);
  const dayOfMonth = parseField(expression, dom!, 'day of month', 1, 31);
  return {
    source: expression,
    seconds: parseField(expression, second!, 'second', 0, 59).values,
    minutes: parseField(expression, minute!, 'minute', 0, 59).values,
    hours: parseField(expression, hour!, 'hour', 0, 23).values,
    daysOfMonth: new Set(dayOfMonth.values),
    months: new Set(parseField(expression, month!, 'month', 1, 12, MONTHS).values),
    daysOfWeek: new Set(daysOfWeek.values.map((d) => d % 7)),
    dayOfMonthRestricted: dayOfMonth.restricted,
    dayOfWeekRestricted: daysOfWeek.restricted,
  };
}

const DAY = 86_400_000;

function dayMatches(cron: CronExpression, date: Date): boolean {
  if (!cron.months.has(date.getUTCMonth() + 1)) return false;
  const byMonth = cron.daysOfMonth.has(date.getUTCDate());
  const byWeek = cron.daysOfWeek.has(date.getUTCDay());
  if (cron.dayOfMonthRestricted && cron.dayOfWeekRestricted) return byMonth || byWeek;
  return byMonth && byWeek;
}

/** The first wall-clock time strictly after `afterWall` that matches, or undefined within ~5 years. */
export function nextCronWall(cron: CronExpression, afterWall: number): number | undefined {
  const startDay = Math.floor(afterWall / DAY) * DAY;
  for (let day = startDay; day < startDay + 5 * 366 * DAY; day += DAY) {
    if (!dayMatches(cron, new Date(day))) continue;
    for (const hour of cron.hours) {
      for (const minute of cron.minutes) {
        const base = day + hour * 3_600_000 + minute * 60_000;
        if (base + 59_999 <= afterWall) continue;
        for (const second of cron.seconds) {
          const wall = base + second * 1000;
          if (wall > afterWall) return wall;
        }
      }
    }
  }
  return undefined;
}
