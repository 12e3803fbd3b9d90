/** `tasq schedule add|list|remove|pause|resume|run-now`: schedules as stored data, by name. */
import {
  defineSchedule,
  type ResolvedConfig,
  type ScheduleKind,
  type ScheduleOptions,
  type ScheduleRecord,
  Tasq,
} from '@tasq/core';
import type { ScheduleStore } from '@tasq/core/backend';
import { withPaused, runtimeServicesOf } from '@tasq/core/internal';
import { type CommandIo, commonHelp, parse, readConfig, taskArguments, withClient } from './common.js';
import { UsageError } from './errors.js';

export const scheduleHelp = `Usage: tasq schedule add|list|remove|pause|resume|run-now [NAME] [options]

Schedules are stored in the broker package's schedule store; the leader among running clusters turns
their due slots into jobs.

  add NAME TASK [ARGS_JSON]  create a schedule (--cron, or --kind with --minutes for "minutes")
  list                       every schedule: rule, next run in its zone and in UTC, runs left, paused
  remove NAME                delete a schedule
  pause NAME                 stop running it (it keeps its place)
  resume NAME                run it again from its first slot after now (slots missed while paused do not run)
  run-now NAME               enqueue one run at once; the schedule itself does not move

Options for add:
      --cron EXPR          cron expression, 5 fields or 6 with seconds first ("0 8 * * mon")
      --kind K             once, minutes, hourly, daily, weekly, biweekly, monthly, bimonthly, quarterly, yearly
      --minutes N          interval of kind "minutes"
      --tz ZONE            IANA time zone of the rule (default: the configured timeZone)
      --repeats N          runs in total; -1 forever (default; 1 for "once")
      --start TIME         first run, ISO date-time (not for cron; default now)
  -q, --queue Q            queue of the runs (default: the configured queue)
      --paused             create it paused
Options for list, add and run-now:
      --json               print JSON
${commonHelp}`;

const ACTIONS = ['add', 'list', 'remove', 'pause', 'resume', 'run-now'] as const;
type Action = (typeof ACTIONS)[number];

export async function scheduleCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    cron: { type: 'string' },
    kind: { type: 'string' },
    minutes: { type: 'string' },
    tz: { type: 'string' },
    repeats: { type: 'string' },
    start: { type: 'string' },
    queue: { type: 'string', short: 'q' },
    paused: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    io.out(scheduleHelp);
    return 0;
  }
  const [action, ...rest] = positionals;
  if (action === undefined || !(ACTIONS as readonly string[]).includes(action)) {
    throw new UsageError(
      `schedule needs one of ${ACTIONS.join(', ')}${action === undefined ? '' : `, got "${action}"`}`,
    );
  }
  const addOnly = ['cron', 'kind', 'minutes', 'tz', 'repeats', 'start', 'queue', 'paused'] as const;
  if (action !== 'add') {
    const misplaced = addOnly.find((flag) => values[flag] !== undefined);
    if (misplaced) throw new UsageError(`--${misplaced} applies to "schedule add" only`);
  }
  if (values.json && !['add', 'list', 'run-now'].includes(action)) {
    throw new UsageError(`--json applies to schedule add, list and run-now`);
  }
  const expected = action === 'list' ? 0 : action === 'add' ? undefined : 1;
  if (expected !== undefined && rest.length !== expected) {
    throw new UsageError(
      expected === 0
        ? `unexpected argument "${rest[0]}"`
        : rest.length === 0
          ? `schedule ${action} needs a schedule NAME`
          : `unexpected argument "${rest[1]}"`,
    );
  }
  // Input is checked before any connection is opened.
  const addition = action === 'add' ? readAddition(rest, values) : undefined;
  const config = await readConfig(values, io);
  return withClient(
    () => Tasq.open(config, { cwd: io.cwd }),
    async (tasq) => {
      const store = await runtimeServicesOf(tasq).schedules();
      switch (action as Action) {
        case 'add':
          return add(tasq, store, addition!, Boolean(values.json), io);
        case 'list':
          return list(store, config, Boolean(values.json), io);
        case 'remove': {
          const schedule = await byName(store, rest[0]!);
          await store.remove(schedule.id);
          io.out(`removed schedule ${schedule.name}`);
          return 0;
        }
        case 'pause':
        case 'resume':
          return pauseOrResume(tasq, store, rest[0]!, action === 'pause', io);
        case 'run-now': {
          const schedule = await byName(store, rest[0]!);
          const job = await tasq.enqueueByName(schedule.task, schedule.args, {
            ...(schedule.options as Parameters<Tasq['enqueueByName']>[2]),
          });
          io.out(values.json ? JSON.stringify({ id: job.id, schedule: schedule.name }) : job.id);
          return 0;
        }
      }
    },
  );
}

interface Addition {
  name: string;
  task: string;
  args: unknown[];
  options: ScheduleOptions;
}

function readAddition(rest: string[], values: Record<string, unknown>): Addition {
  const [name, task, argsJson, extra] = rest;
  if (!name || !task) throw new UsageError('schedule add needs a NAME and a TASK (see tasq schedule --help)');
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(name)) {
    throw new UsageError(`schedule NAME must be 1-128 letters, digits, "_", "-", "." or ":", got "${name}"`);
  }
  if (extra !== undefined)
    throw new UsageError(`unexpected argument "${extra}" (pass arguments as one JSON array)`);
  const args = taskArguments(argsJson);
  const cron = values.cron as string | undefined;
  const kind = values.kind as string | undefined;
  if (cron === undefined && kind === undefined) throw new UsageError('schedule add needs --cron or --kind');
  const options: ScheduleOptions = {
    name,
    ...(cron !== undefined ? { cron } : {}),
    ...(kind !== undefined ? { kind: kind as ScheduleKind } : {}),
    ...(values.tz !== undefined ? { timeZone: values.tz as string } : {}),
    ...(values.paused ? { paused: true } : {}),
    ...(values.queue !== undefined ? { job: { queue: values.queue } } : {}),
  };
  if (values.minutes !== undefined) options.minutes = integer(values.minutes as string, '--minutes');
  if (values.repeats !== undefined) options.repeats = integer(values.repeats as string, '--repeats');
  if (values.start !== undefined) {
    const start = Date.parse(values.start as string);
    if (Number.isNaN(start))
      throw new UsageError(
        `--start must be an ISO date-time like 2030-01-31T08:00:00Z, got "${values.start}"`,
      );
    options.start = start;
  }
  // Checked now (cron syntax, zone, kind, repeats) so bad input never reaches the store.
  try {
    defineSchedule(task, args, options, Date.now());
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return { name, task, args, options };
}

function integer(value: string, flag: string): number {
  if (!/^-?\d+$/.test(value)) throw new UsageError(`${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

async function add(
  tasq: Tasq,
  store: ScheduleStore,
  addition: Addition,
  json: boolean,
  io: CommandIo,
): Promise<number> {
  if ((await store.list()).some((schedule) => schedule.name === addition.name)) {
    throw new UsageError(`a schedule named "${addition.name}" already exists`);
  }
  const record = await tasq.schedule(addition.task, addition.args, addition.options);
  io.out(
    json
      ? JSON.stringify(view(record, tasq.config))
      : `added schedule ${record.name}: ${describe(view(record, tasq.config))}`,
  );
  return 0;
}

async function byName(store: ScheduleStore, name: string): Promise<ScheduleRecord> {
  const found = (await store.list()).find((schedule) => schedule.name === name);
  if (!found) throw new UsageError(`no schedule named "${name}"`);
  return found;
}

async function pauseOrResume(
  tasq: Tasq,
  store: ScheduleStore,
  name: string,
  pause: boolean,
  io: CommandIo,
): Promise<number> {
  const schedule = await byName(store, name);
  if (schedule.paused === pause) {
    io.out(`schedule ${name} is already ${pause ? 'paused' : 'running'}`);
    return 0;
  }
  // Resuming does not run what was missed while paused: the schedule moves to its first slot after now.
  const updated = withPaused(schedule, pause, runtimeServicesOf(tasq).clock.now(), tasq.config.timeZone);
  await store.save(updated);
  const shown = view(updated, tasq.config);
  io.out(`${pause ? 'paused' : 'resumed'} schedule ${name}${pause ? '' : `; next run ${shown.nextRun}`}`);
  return 0;
}

/** A schedule as `list` shows it. */
export interface ScheduleView {
  name: string;
  task: string;
  args: unknown[];
  rule: string;
  kind: ScheduleKind;
  timeZone: string;
  /** The next run in the schedule's zone ("-" when finished). */
  nextRun: string;
  nextRunUtc: string | null;
  /** -1 = forever. */
  repeatsLeft: number;
  paused: boolean;
  lastRunUtc: string | null;
  id: string;
}

function view(schedule: ScheduleRecord, config: ResolvedConfig): ScheduleView {
  const timeZone = schedule.timeZone ?? config.timeZone;
  const finished = schedule.repeats === 0;
  return {
    name: schedule.name,
    task: schedule.task,
    args: schedule.args,
    rule:
      schedule.kind === 'cron'
        ? `cron ${schedule.cron}`
        : schedule.kind === 'minutes'
          ? `every ${schedule.minutes} min`
          : schedule.kind,
    kind: schedule.kind,
    timeZone,
    nextRun: finished ? '-' : inZone(schedule.nextRunAt, timeZone),
    nextRunUtc: finished ? null : new Date(schedule.nextRunAt).toISOString(),
    repeatsLeft: schedule.repeats,
    paused: schedule.paused,
    lastRunUtc: schedule.lastRunAt === undefined ? null : new Date(schedule.lastRunAt).toISOString(),
    id: schedule.id,
  };
}

function describe(shown: ScheduleView): string {
  return `${shown.task} ${shown.rule} (${shown.timeZone}), next run ${shown.nextRun} = ${shown.nextRunUtc ?? '-'}`;
}

async function list(
  store: ScheduleStore,
  config: ResolvedConfig,
  json: boolean,
  io: CommandIo,
): Promise<number> {
  const schedules = (await store.list()).map((schedule) => view(schedule, config));
  schedules.sort((a, b) => a.name.localeCompare(b.name));
  if (json) {
    io.out(JSON.stringify(schedules));
    return 0;
  }
  if (schedules.length === 0) {
    io.out('no schedules');
    return 0;
  }
  const rows = [
    ['NAME', 'TASK', 'RULE', 'NEXT RUN (ZONE)', 'NEXT RUN (UTC)', 'REPEATS LEFT', 'PAUSED'],
    ...schedules.map((s) => [
      s.name,
      s.task,
      s.rule,
      s.nextRun,
      s.nextRunUtc ?? '-',
      s.repeatsLeft === -1 ? 'forever' : String(s.repeatsLeft),
      s.paused ? 'yes' : 'no',
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows)
    io.out(
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** "2026-11-22 08:00:00 GMT+1 (Europe/Berlin)". */
function inZone(epochMs: number, timeZone: string): string {
  let format = zoneFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'shortOffset',
    });
    zoneFormats.set(timeZone, format);
  }
  const part = Object.fromEntries(format.formatToParts(epochMs).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${part.timeZoneName} (${timeZone})`;
}
