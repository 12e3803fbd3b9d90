/**
 * The `tasq` command as a user runs it: a real child process, a real SQLite file. Bad input exits
 * non-zero with one line; SIGTERM drains running tasks and gives back what was fetched but not started.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { loadConfig, Tasq } from '@tasq/core';
import { findOlderNode, freePort } from '@tasq/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, type Database, eventually, sqliteDatabase, tasksModule } from './support.js';
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
      secret: 'cli-test-secret',
      workers: 1,
      concurrency: 2,
      queueLimit: 4,
      bulk: 4,
      guardCycle: '100ms',
    }),
  );
});
afterAll(() => database.cleanup());

function tasq(args: string[]) {
  const run = spawnSync(process.execPath, [cliPath, ...args, '--config', configFile], {
    encoding: 'utf8',
    cwd: database.folder,
    env: { ...process.env, TASQ_SECRET: undefined } as NodeJS.ProcessEnv,
  });
  return { code: run.status, out: run.stdout.trim(), err: run.stderr.trim() };
}

/** `tasq cluster` in a child process, logging JSON lines on stderr, as an operator starts it. */
function startClusterCommand(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
  const child = spawn(process.execPath, [cliPath, 'cluster', ...args, '--log-format', 'json'], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk) => {
    log += chunk;
  });
  const lines = () =>
    log
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown> & { msg?: string });
  return {
    child,
    /** The first log line with this message, once it is there (the log arrives between event-loop turns). */
    logged: (message: string) =>
      eventually(
        () => lines().find((line) => line.msg === message),
        20_000,
        `"${message}" in the cluster log`,
      ),
    stop: async () => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** A deployment of its own (a SQLite file and its configuration file), for a test that must not share a queue. */
function ownDeployment(settings: Record<string, unknown>): { own: Database; file: string } {
  const own = sqliteDatabase();
  const file = path.join(own.folder, 'tasq.config.json');
  writeFileSync(
    file,
    JSON.stringify({
      ...own.broker,
      tasks: [tasksModule],
      secret: 'cli-test-secret',
      workers: 1,
      guardCycle: '100ms',
      ...settings,
    }),
  );
  return { own, file };
}

describe('tasq CLI', () => {
  it('explains bad input in one line and exits non-zero', () => {
    const cases: [string[], RegExp][] = [
      [['bogus'], /^tasq: unknown command "bogus"/],
      [['enqueue'], /^tasq: enqueue needs a task NAME/],
      [['enqueue', 'test.add', '[1,'], /^tasq: ARGS_JSON is not valid JSON/],
      [['enqueue', 'test.add', '[1]', '--delay', 'soon'], /^tasq: --delay must be a duration/],
      [['cluster', '--workers', 'many'], /^tasq: --workers must be a positive integer, got "many"/],
      [['cluster', '--pool', 'fibers'], /^tasq: --pool must be process, thread or inline/],
      [['cluster', '--health', 'everywhere'], /^tasq: --health must be \[HOST\]:PORT like 127\.0\.0\.1:9000/],
      [
        ['cluster', '--health', ':9000', '--health-port', '9000'],
        /^tasq: give --health or --health-port, not both/,
      ],
      [['queue', 'shrink', 'q'], /^tasq: queue needs "size", "purge", "pause" or "resume", got "shrink"/],
      [['result'], /^tasq: result needs a job ID/],
      [['info', '--colour'], /^tasq: Unknown option '--colour'/],
      [['info', '--cluster-wait', 'soon'], /^tasq: --cluster-wait must be a duration like 10s/],
    ];
    for (const [args, message] of cases) {
      const { code, err } = tasq(args);
      expect(code, args.join(' ')).toBe(2);
      expect(err.split('\n')).toHaveLength(1);
      expect(err).toMatch(message);
    }
  });

  it('stops quietly when its reader goes away (tasq info | head)', async () => {
    const child = spawn(process.execPath, [cliPath, 'info', '--config', configFile], {
      cwd: database.folder,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the command has written anything: every write it makes meets a closed pipe.
    child.stdout.destroy();
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(err).toBe('');
    expect(code).toBe(0);
  });

  it('names the bad key of an invalid configuration', () => {
    const bad = path.join(database.folder, 'bad.json');
    writeFileSync(bad, JSON.stringify({ workers: 0, retry: 5, timeout: 10, colour: 'blue' }));
    const run = spawnSync(process.execPath, [cliPath, 'check', '--config', bad], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    const line = run.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(/^tasq: invalid configuration: /);
    expect(line).toMatch(/workers: Too small/);
    expect(line).toMatch(/unknown option colour/);
  });

  it('prints help for every command', () => {
    for (const command of ['cluster', 'enqueue', 'result', 'info', 'queue', 'migrate', 'check']) {
      const { code, out } = tasq([command, '--help']);
      expect(code).toBe(0);
      expect(out).toMatch(new RegExp(`^Usage: tasq ${command}`));
    }
  });

  it('checks the configuration, the tasks and both connections', () => {
    const { code, out } = tasq(['check']);
    expect(code).toBe(0);
    expect(out).toMatch(/ok: tasks modules import \(\d+ tasks/);
    const file = path.join(database.folder, 'tasq.db');
    expect(out).toContain(`ok: broker sqlite at ${file} answers`);
    expect(out).toContain(`ok: result backend sqlite at ${file} answers`);
    expect(tasq(['migrate']).out).toBe('migrations applied (broker chosen by `sqlite`)');
  });

  it('warns at start about a misspelled TASQ_ variable, naming the setting it is closest to', async () => {
    const env = { ...process.env, TASQ_WORKRES: '4' } as NodeJS.ProcessEnv;
    const check = spawnSync(process.execPath, [cliPath, 'check', '--config', configFile], {
      encoding: 'utf8',
      cwd: database.folder,
      env,
    });
    const warning = 'TASQ_WORKRES is not a tasq setting and is ignored; did you mean TASQ_WORKERS?';
    expect(check.stdout).toContain(`warning: ${warning}`);
    const size = spawnSync(process.execPath, [cliPath, 'queue', 'size', 'default', '--config', configFile], {
      encoding: 'utf8',
      cwd: database.folder,
      env,
    });
    expect(size.status).toBe(0);
    expect(size.stderr.trim()).toBe(`tasq: warning: ${warning}`);
    const cluster = startClusterCommand(['--config', configFile, '--queues', `idle-${process.pid}`], {
      cwd: database.folder,
      env,
    });
    try {
      expect((await cluster.logged(warning)).level).toBe('warn');
    } finally {
      await cluster.stop();
    }
  });

  const olderNode = findOlderNode();
  it.skipIf(olderNode === undefined)(
    `says which Node.js it needs when run on an older one${olderNode ? ` (${olderNode.version})` : ' (skipped: no Node.js older than 22.13 on this machine)'}`,
    () => {
      for (const command of ['check', 'cluster', 'enqueue']) {
        const run = spawnSync(olderNode!.path, [cliPath, command, '--config', configFile], {
          encoding: 'utf8',
          cwd: database.folder,
        });
        expect(run.status, command).toBe(1);
        expect(run.stdout).toBe('');
        expect(run.stderr.trim()).toBe(
          `tasq: tasq needs Node.js 22.13.0 or newer; this is Node.js v${olderNode!.version} (${olderNode!.path})`,
        );
      }
    },
  );

  it('names the server it cannot reach', async () => {
    const port = await freePort();
    const unreachable = path.join(database.folder, 'unreachable.json');
    writeFileSync(
      unreachable,
      JSON.stringify({
        redis: `redis://user:hunter2@127.0.0.1:${port}/3`,
        tasks: [tasksModule],
        secret: 's',
      }),
    );
    const run = spawnSync(process.execPath, [cliPath, 'check', '--config', unreachable], {
      encoding: 'utf8',
      cwd: database.folder,
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      `problem: broker redis at 127.0.0.1:${port}/3: redis size failed: cannot reach Redis at 127.0.0.1:${port}: connection refused`,
    );
    expect(run.stdout).toContain(`problem: result backend redis at 127.0.0.1:${port}/3: `);
    expect(run.stdout).not.toContain('hunter2');
  });

  it('drains running tasks on SIGTERM, gives back the rest and exits 0', async () => {
    const config = await loadConfig({ file: configFile, env: {} });
    const client = await Tasq.open(config);
    let cluster: ChildProcess | undefined;
    try {
      const marks = path.join(database.folder, 'drain-marks.txt');
      writeFileSync(marks, '');
      const running = [
        await client.enqueueByName('test.mark', [marks, 'first', 1_500]),
        await client.enqueueByName('test.mark', [marks, 'second', 1_500]),
      ];
      const waiting = await client.enqueueMany(
        { name: 'test.add', options: {} } as never,
        Array.from({ length: 6 }, (_, i) => [i, i]),
      );
      cluster = spawn(
        process.execPath,
        [cliPath, 'cluster', '--config', configFile, '--log-format', 'json'],
        {
          cwd: database.folder,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let log = '';
      cluster.stderr?.on('data', (chunk) => {
        log += chunk;
      });
      const exited = new Promise<number | null>((resolve) => cluster!.once('exit', (code) => resolve(code)));
      await eventually(
        () => readFileSync(marks, 'utf8').trim().split('\n').length === 2,
        15_000,
        'both tasks to start',
      );
      cluster.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const job of running) expect((await job.outcome())?.status).toBe('success');
      for (const job of waiting) expect(await job.outcome()).toBeUndefined();
      expect(await runtimeServicesOf(client).broker.size(config.queue)).toMatchObject({
        ready: 6,
        reserved: 0,
      });
      const events = log
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string });
      expect(events.some((event) => event.msg === 'cluster stopping')).toBe(true);
      // No rate limits in this configuration: the start line does not claim a per-cluster scope.
      expect(events.find((event) => event.msg === 'cluster running')).toMatchObject({ rateLimits: 'none' });
      expect(events.filter((event) => event.msg === 'task released')).toHaveLength(2);
    } finally {
      cluster?.kill('SIGKILL');
      await client.close();
    }
  });

  it('on a second SIGTERM kills the running tasks, gives their jobs back and exits 1', async () => {
    const { own, file } = ownDeployment({
      concurrency: 2,
      bulk: 2,
      queueLimit: 2,
      // The first signal alone would wait this long for the running tasks.
      stopTimeout: 120,
    });
    const config = await loadConfig({ file, env: {} });
    const client = await Tasq.open(config);
    const cluster = startClusterCommand(['--config', file], { cwd: own.folder });
    try {
      const marks = path.join(own.folder, 'kill-marks.txt');
      writeFileSync(marks, '');
      const running = [
        await client.enqueueByName('test.mark', [marks, 'first', 60_000]),
        await client.enqueueByName('test.mark', [marks, 'second', 60_000]),
      ];
      await eventually(
        () => readFileSync(marks, 'utf8').trim().split('\n').length === 2,
        15_000,
        'both tasks to start',
      );
      const exited = new Promise<number | null>((resolve) =>
        cluster.child.once('exit', (code) => resolve(code)),
      );
      const signalledAt = Date.now();
      cluster.child.kill('SIGTERM');
      await cluster.logged('stopping: draining running tasks');
      cluster.child.kill('SIGTERM');
      expect(await exited).toBe(1);
      // Well before the tasks' minute or the two-minute stopTimeout.
      expect(Date.now() - signalledAt).toBeLessThan(30_000);
      expect(await cluster.logged('second signal: killing running tasks')).toMatchObject({
        signal: 'SIGTERM',
      });
      // Nothing stored for the killed runs: both jobs are back in the queue, to run again.
      for (const job of running) expect(await job.outcome()).toBeUndefined();
      expect(await runtimeServicesOf(client).broker.size(config.queue)).toMatchObject({
        ready: 2,
        reserved: 0,
      });
    } finally {
      cluster.child.kill('SIGKILL');
      await client.close();
      await own.cleanup();
    }
  });

  it('runs an alt cluster on the queue named after it, and enqueues there for it', async () => {
    const { own, file } = ownDeployment({ altClusters: { short: { timeout: 10 } } });
    const run = (args: string[]) => {
      const done = spawnSync(process.execPath, [cliPath, ...args, '--config', file], {
        encoding: 'utf8',
        cwd: own.folder,
      });
      return { code: done.status, out: done.stdout.trim(), err: done.stderr.trim() };
    };
    // A job for the default cluster, which is not running.
    expect(run(['enqueue', 'test.add', '[1, 1]']).code).toBe(0);
    const cluster = startClusterCommand(['--name', 'short', '--config', file], { cwd: own.folder });
    try {
      const enqueued = run(['enqueue', 'test.add', '[2, 3]', '--cluster', 'short', '--wait', '--json']);
      expect(enqueued.code).toBe(0);
      expect(JSON.parse(enqueued.out)).toMatchObject({ status: 'success', result: 5, queue: 'short' });
      expect((await cluster.logged('cluster running')).queues).toBe('short');
      // The default cluster's job is still waiting for it.
      expect(JSON.parse(run(['queue', 'size', 'default', '--json']).out)).toMatchObject({ ready: 1 });
      expect(JSON.parse(run(['info', '--json', '--cluster-wait', '0']).out).queues).toEqual([
        expect.objectContaining({ queue: 'default', ready: 1 }),
        expect.objectContaining({ queue: 'short', ready: 0 }),
      ]);
    } finally {
      await cluster.stop();
      await own.cleanup();
    }
  });

  it('serves the health probe on the host --health names, and only there', async () => {
    const port = await freePort();
    const cluster = startClusterCommand(['--config', configFile, '--health', `127.0.0.1:${port}`], {
      cwd: database.folder,
    });
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;
    try {
      expect((await cluster.logged('cluster running')).health).toBe(`127.0.0.1:${port}`);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      if (outside) {
        const refused = await fetch(`http://${outside}:${port}/health`).catch(
          (error: Error & { cause?: { code?: string } }) => error.cause?.code,
        );
        expect(refused).toBe('ECONNREFUSED');
      }
    } finally {
      await cluster.stop();
    }
  });

  it('enqueue --wait that runs out says the job is still pending and how to wait again', () => {
    const queue = `nobody-listens-${process.pid}`;
    const waited = tasq(['enqueue', 'test.add', '[1, 2]', '--queue', queue, '--wait', '--timeout', '300ms']);
    expect(waited.code).toBe(1);
    const [id, message] = waited.out.split('\n');
    expect(message).toBe(
      `no result within 300 ms: the job is still queued, running or waiting to be retried; \`tasq result ${id} --wait 1m\` waits again. ` +
        `If it never runs, check that a cluster consumes queue "${queue}" (\`tasq info\` lists the running ones) ` +
        "and has this configuration's secret (`tasq check` compares them)",
    );
    // Nothing was lost: the job waits in its queue for a cluster to run it.
    expect(JSON.parse(tasq(['queue', 'size', queue, '--json']).out)).toMatchObject({ queue, ready: 1 });
    expect(JSON.parse(tasq(['queue', 'purge', queue, '--json']).out)).toEqual({ queue, removed: 1 });
  });

  it('enqueues, waits for the result and reads it back', async () => {
    const cluster = spawn(
      process.execPath,
      [cliPath, 'cluster', '--config', configFile, '--log-level', 'warn'],
      {
        cwd: database.folder,
        stdio: 'ignore',
      },
    );
    try {
      const enqueued = tasq(['enqueue', 'test.add', '[40, 2]', '--wait', '--timeout', '20s']);
      expect(enqueued.code).toBe(0);
      const id = enqueued.out.split(' ')[0];
      expect(enqueued.out).toMatch(/test\.add success after 1 attempt\(s\)/);
      expect(enqueued.out).toMatch(/result: 42$/);
      const stored = tasq(['result', id!, '--json']);
      expect(JSON.parse(stored.out)).toMatchObject({ id, status: 'success', result: 42 });
      const info = JSON.parse(tasq(['info', '--json']).out);
      expect(info.recent.successes.some((r: { id: string }) => r.id === id)).toBe(true);
      // The running cluster answers over the broker's pub/sub with what it has done.
      expect(info.running.source).toBe('control');
      expect(info.running.clusters).toHaveLength(1);
      expect(info.running.clusters[0]).toMatchObject({ pid: cluster.pid, poolSize: 1, concurrency: 2 });
      expect(info.running.clusters[0].stats.succeeded).toBeGreaterThanOrEqual(1);
      const text = tasq(['info']).out;
      expect(text).toMatch(
        new RegExp(`clusters running \\(1, answered within 1000 ms\\):\\n  default@\\S+:${cluster.pid} `),
      );
      expect(tasq(['info', '--cluster-wait', '0']).out).not.toMatch(/clusters running/);
      const failed = tasq(['enqueue', 'test.broken', '--wait', '--timeout', '20s']);
      expect(failed.code).toBe(1);
      expect(failed.out).toMatch(/error: TypeError: this task always fails/);
      // One argument short: the run fails naming both counts instead of returning "1[object Object]".
      const short = tasq(['enqueue', 'test.add', '[1]', '--wait', '--timeout', '20s']);
      expect(short.code).toBe(1);
      expect(short.out).toMatch(
        /error: TaskArgumentsError: task test\.add was given 1 argument but takes 2: its parameter 2 received the task context/,
      );
    } finally {
      cluster.kill('SIGTERM');
      await new Promise((resolve) => cluster.once('exit', resolve));
    }
  });
});
