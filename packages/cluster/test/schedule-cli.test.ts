/**
 * `tasq schedule ...` as an operator runs it: a real child process on a real SQLite file.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, Tasq } from '@tasq/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, type Database, sqliteDatabase, tasksModule } from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

let database: Database;
let configFile: string;

beforeAll(() => {
  database = sqliteDatabase();
  configFile = path.join(database.folder, 'tasq.config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      ...database.broker,
      tasks: [tasksModule],
      secret: 'schedule-cli-secret',
      timeZone: 'Europe/Berlin',
    }),
  );
});
afterAll(() => database.cleanup());

function tasq(args: string[]) {
  const run = spawnSync(process.execPath, [cliPath, 'schedule', ...args, '--config', configFile], {
    encoding: 'utf8',
    cwd: database.folder,
  });
  return { code: run.status, out: run.stdout.trim(), err: run.stderr.trim() };
}

interface Listed {
  name: string;
  task: string;
  args: unknown[];
  kind: string;
  timeZone: string;
  nextRun: string;
  nextRunUtc: string;
  repeatsLeft: number;
  paused: boolean;
}

const listed = (): Listed[] => JSON.parse(tasq(['list', '--json']).out);

describe('tasq schedule', () => {
  it('adds, lists with the next run in its zone and UTC, pauses, resumes, runs now and removes', async () => {
    expect(tasq(['list']).out).toBe('no schedules');
    const added = tasq(['add', 'nightly', 'test.add', '[1, 2]', '--cron', '0 3 * * *', '--queue', 'reports']);
    expect(added.code).toBe(0);
    expect(added.out).toMatch(/^added schedule nightly: test\.add cron 0 3 \* \* \* \(Europe\/Berlin\)/);
    expect(
      tasq(['add', 'sweep', 'test.noop', '--kind', 'weekly', '--tz', 'America/New_York', '--repeats', '3'])
        .code,
    ).toBe(0);

    const [nightly, sweep] = listed();
    expect(nightly).toMatchObject({ name: 'nightly', task: 'test.add', args: [1, 2], kind: 'cron' });
    expect(nightly!.timeZone).toBe('Europe/Berlin');
    // 03:00 in Berlin is 02:00 UTC in winter and 01:00 UTC in summer.
    expect(nightly!.nextRun).toMatch(/^\d{4}-\d\d-\d\d 03:00:00 GMT\+[12] \(Europe\/Berlin\)$/);
    expect(nightly!.nextRunUtc).toMatch(/T0[12]:00:00\.000Z$/);
    expect(Date.parse(nightly!.nextRunUtc)).toBeGreaterThan(Date.now());
    expect(sweep).toMatchObject({ name: 'sweep', kind: 'weekly', repeatsLeft: 3, paused: false });
    expect(sweep!.nextRun).toMatch(/GMT-[45] \(America\/New_York\)$/);

    const table = tasq(['list']).out.split('\n');
    expect(table[0]).toMatch(
      /^NAME\s+TASK\s+RULE\s+NEXT RUN \(ZONE\)\s+NEXT RUN \(UTC\)\s+REPEATS LEFT\s+PAUSED$/,
    );
    expect(table[1]).toMatch(/^nightly\s+test\.add\s+cron 0 3 \* \* \*\s+.*\s+forever\s+no$/);
    expect(table[2]).toMatch(/^sweep\s+test\.noop\s+weekly\s+.*\s+3\s+no$/);

    expect(tasq(['pause', 'nightly']).out).toBe('paused schedule nightly');
    expect(listed()[0]!.paused).toBe(true);
    expect(tasq(['resume', 'nightly']).out).toMatch(/^resumed schedule nightly; next run .*03:00:00/);
    expect(listed()[0]!.paused).toBe(false);

    const before = listed()[0]!;
    const run = tasq(['run-now', 'nightly', '--json']);
    expect(run.code).toBe(0);
    const { id } = JSON.parse(run.out) as { id: string };
    const client = await Tasq.open(await loadConfig({ file: configFile, env: {} }));
    try {
      const [delivery] = await runtimeServicesOf(client).broker.reserve('reports', {
        max: 1,
        leaseMs: 10_000,
        waitMs: 0,
      });
      const pkg = runtimeServicesOf(client).codec.decode(delivery!.body);
      expect(pkg).toMatchObject({ id, name: 'test.add', args: [1, 2] });
    } finally {
      await client.close();
    }
    // Running now does not move the schedule.
    expect(listed()[0]).toEqual(before);

    expect(tasq(['remove', 'sweep']).out).toBe('removed schedule sweep');
    expect(listed().map((s) => s.name)).toEqual(['nightly']);
  });

  it('explains bad input in one line and exits 2', () => {
    const cases: [string[], RegExp][] = [
      [[], /^tasq: schedule needs one of add, list, remove, pause, resume, run-now$/],
      [['grow'], /got "grow"$/],
      [['add', 'x'], /^tasq: schedule add needs a NAME and a TASK/],
      [['add', 'x', 'test.noop'], /^tasq: schedule add needs --cron or --kind$/],
      [['add', 'x', 'test.noop', '--cron', '61 * * * *'], /^tasq: invalid cron expression "61 \* \* \* \*"/],
      [['add', 'x', 'test.noop', '--kind', 'fortnightly'], /^tasq: unknown schedule kind "fortnightly"/],
      [['add', 'x', 'test.noop', '--kind', 'minutes'], /^tasq: kind "minutes" needs `minutes`/],
      [
        ['add', 'x', 'test.noop', '--kind', 'daily', '--tz', 'Mars/Olympus'],
        /unknown time zone "Mars\/Olympus"/,
      ],
      [['add', 'x', 'test.noop', '--kind', 'daily', '--repeats', '0'], /repeats must be -1 \(forever\)/],
      [
        ['add', 'x', 'test.noop', '--kind', 'daily', '--start', 'soon'],
        /^tasq: --start must be an ISO date-time/,
      ],
      [['add', 'x', 'test.noop', '[1,'], /^tasq: ARGS_JSON is not valid JSON/],
      [
        ['add', 'nightly', 'test.noop', '--kind', 'daily'],
        /^tasq: a schedule named "nightly" already exists$/,
      ],
      [['pause', 'missing'], /^tasq: no schedule named "missing"$/],
      [['run-now'], /^tasq: schedule run-now needs a schedule NAME$/],
      [['list', '--cron', '* * * * *'], /^tasq: --cron applies to "schedule add" only$/],
      [['remove', 'nightly', '--json'], /^tasq: --json applies to schedule add, list and run-now$/],
    ];
    for (const [args, message] of cases) {
      const { code, err } = tasq(args);
      expect(code, args.join(' ')).toBe(2);
      expect(err.split('\n'), args.join(' ')).toHaveLength(1);
      expect(err, args.join(' ')).toMatch(message);
    }
    expect(listed().map((s) => s.name)).toEqual(['nightly']);
  });

  it('prints its help', () => {
    const { code, out } = tasq(['--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: tasq schedule add\|list\|remove\|pause\|resume\|run-now/);
    expect(out).toMatch(/--json/);
  });
});
