/**
 * The monitoring commands as an operator uses them, against a real `tasq cluster` process on PostgreSQL:
 * `tasq monitor` driven in a terminal (tmux: keys in, screen out), `tasq control`, `tasq events --json`,
 * and the cluster's `--metrics` endpoint.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, Tasq } from '@tasq/core';
import { requireService } from '@tasq/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cliPath,
  type Database,
  eventually,
  postgresDatabase,
  requirePostgres,
  sleep,
  tasksModule,
} from './support.js';

const skipReason =
  (await requirePostgres()) ??
  (await requireService('tmux (a terminal to drive tasq monitor in)', async () => {
    execFileSync('tmux', ['-V']);
  }));

describe.skipIf(skipReason)(`tasq monitor, control and events${skipReason ? ` (${skipReason})` : ''}`, () => {
  let database: Database;
  let configFile: string;
  let cluster: ChildProcess;
  let clusterLog = '';
  let tasq: Tasq;
  const session = `tasq-monitor-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    database = postgresDatabase();
    configFile = path.join(database.folder, 'tasq.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        ...database.broker,
        name: `cli_${randomBytes(4).toString('hex')}`,
        queue: 'reports',
        tasks: [tasksModule],
        secret: 'monitor-cli-secret',
        workers: 2,
        guardCycle: '100ms',
        maxAttempts: 1,
      }),
    );
    cluster = spawn(
      process.execPath,
      [cliPath, 'cluster', '--config', configFile, '--metrics', '127.0.0.1:0', '--log-format', 'text'],
      {
        cwd: database.folder,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    cluster.stderr!.on('data', (chunk) => {
      clusterLog += chunk;
    });
    await eventually(() => clusterLog.includes('cluster running'), 20_000, 'the cluster to start');
    tasq = await Tasq.open(await loadConfig({ file: configFile, cwd: database.folder, env: {} }));
  });

  afterAll(async () => {
    spawnSync('tmux', ['kill-session', '-t', session]);
    await tasq?.close();
    if (cluster && cluster.exitCode === null) {
      cluster.kill('SIGTERM');
      await new Promise((resolve) => cluster.once('exit', resolve));
    }
    await database?.cleanup();
  });

  const field = (name: string) => new RegExp(`${name}=(\\S+)`).exec(clusterLog)?.[1];
  const run = (args: string[]) => {
    const result = spawnSync(process.execPath, [cliPath, ...args, '--config', configFile], {
      cwd: database.folder,
      encoding: 'utf8',
    });
    return { code: result.status, out: result.stdout.trim(), err: result.stderr.trim() };
  };

  it('shows the running cluster live in a terminal and leaves on q with exit code 0', async () => {
    const id = field('identity')!;
    const stats = JSON.parse(run(['control', 'stats', '--json', '--timeout', '1500ms']).out);
    const pids: number[] = stats.result.workers.map((worker: { pid: number }) => worker.pid);
    expect(pids).toHaveLength(2);
    const exitFile = path.join(database.folder, 'monitor.exit');
    const command = `${process.execPath} ${cliPath} monitor --config ${configFile} --refresh 200ms; echo "exit=$?" > ${exitFile}; sleep 30`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '160', '-y', '45', command], {
      cwd: database.folder,
    });
    const screen = () => execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });

    const first = await eventually(
      () => {
        const text = screen();
        return pids.every((pid) => new RegExp(`${pid}\\s+idle\\s+\\d+ MB`).test(text)) ? text : undefined;
      },
      15_000,
      'both workers on the monitor screen',
    );
    expect(first).toMatch(new RegExp(`${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+online\\s+workers 2`));
    expect(first).toMatch(/^QUEUES$/m);

    await tasq.enqueueByName('test.add', [1, 1], { delay: '1h' });
    const failing = await tasq.enqueueByName('test.broken', []);
    const later = await eventually(
      () => {
        const text = screen();
        return text.includes(`test.broken ${failing.id}: TypeError: this task always fails`) &&
          /reports\s+ready 0\s+delayed 1/.test(text)
          ? text
          : undefined;
      },
      15_000,
      'the failure and the delayed job on screen',
    );
    expect(later).toMatch(/tasks done\n(?:.*\n)*.*\s1\n/);

    execFileSync('tmux', ['send-keys', '-t', session, 'q']);
    const exit = await eventually(
      () => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : undefined),
      5_000,
      'the monitor to exit',
    );
    expect(exit).toBe('exit=0');
    // The alternate screen is gone: the shell's own screen is back.
    expect(screen()).not.toMatch(/CLUSTERS \(/);
  });

  it('tasq control answers from the cluster and says so when nobody answers', () => {
    const id = field('identity')!;
    const ping = run(['control', 'ping', '--timeout', '1500ms']);
    expect(ping.code).toBe(0);
    expect(ping.out).toMatch(
      new RegExp(`^${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: pong \\(up \\d+ s\\)$`),
    );

    const stats = run(['control', 'stats', '--json', '--timeout', '1500ms']);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.out)).toMatchObject({ cluster: id, ok: true, result: { poolSize: 2 } });

    const nobody = run(['control', 'ping', '--cluster', 'nowhere', '--timeout', '300ms']);
    expect(nobody.code).toBe(1);
    expect(nobody.err).toBe('tasq: no cluster "nowhere" answered "ping" within 300 ms');

    expect(run(['control', 'reboot']).err).toMatch(/^tasq: control needs one of ping, stats/);
    expect(run(['control', 'pool-grow', 'two']).err).toBe(
      'tasq: pool-grow N must be a positive integer, got "two"',
    );
  });

  it('tasq events --json streams events until interrupted', async () => {
    const events = spawn(
      process.execPath,
      [cliPath, 'events', '--json', '--no-heartbeats', '--config', configFile],
      {
        cwd: database.folder,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    events.stdout!.on('data', (chunk) => {
      out += chunk;
    });
    const exited = new Promise<number | null>((resolve) => events.once('exit', (code) => resolve(code)));
    try {
      // Pub/sub delivers only to current listeners, and the CLI can take seconds to subscribe on a busy
      // machine: run one job after another until the stream shows one of them.
      const ran = new Set<string>();
      const succeededIn = () =>
        out
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line))
          .find((event) => event.type === 'task-succeeded' && ran.has(event.jobId));
      const deadline = Date.now() + 30_000;
      let succeeded: Record<string, unknown> | undefined;
      while (succeeded === undefined) {
        if (Date.now() > deadline) throw new Error('no task-succeeded event reached tasq events in 30 s');
        const job = await tasq.enqueueByName('test.add', [20, 22]);
        expect(await job.result({ timeout: 10_000 })).toBe(42);
        ran.add(job.id);
        const shownBy = Date.now() + 1_000;
        while (succeeded === undefined && Date.now() < shownBy) {
          succeeded = succeededIn();
          if (succeeded === undefined) await sleep(50);
        }
      }
      expect(succeeded).toMatchObject({
        name: 'test.add',
        queue: 'reports',
        attempt: 1,
        cluster: field('identity'),
      });
      expect(out).not.toMatch(/heartbeat/);
      events.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      // A failed assertion must not leave the stream running.
      if (events.exitCode === null && events.signalCode === null) events.kill('SIGKILL');
    }
  });

  it('serves metrics on the address given to --metrics', async () => {
    const port = field('metricsPort');
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toMatch(/^tasq_pool_size\{cluster="[^"]+"\} 2$/m);
    expect(text).toMatch(
      /^tasq_tasks_total\{task="test.broken",queue="reports",status="failed",cluster="[^"]+"\} 1$/m,
    );
  });
});
