/**
 * Test support: configurations on a real SQLite file (in a temporary folder) or a real PostgreSQL
 * schema of this run's own, and helpers to run a cluster in this process with real worker processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ResolvedConfig, resolveConfig, type TasqConfigInput } from '@tasq/core';
import {
  deleteRedisPrefix as deleteRedisKeys,
  eventually,
  freePort,
  redisCommand,
  requireService,
  sleep,
} from '@tasq/testing';
import { startFauxqs } from 'fauxqs';
import { afterAll } from 'vitest';
import pg from 'pg';
import { type ClusterHandle, type StartClusterOptions, startCluster } from '../src/index.js';

export const tasksModule = fileURLToPath(new URL('./fixtures/tasks.mjs', import.meta.url));
export const cliPath = fileURLToPath(new URL('../bin/tasq.js', import.meta.url));

/**
 * `tasq ARGS --config FILE` as an operator runs it (from `cwd`, by default the configuration's folder);
 * resolves with its exit code and its output, stdout and stderr together.
 */
export function tasqCli(
  configFile: string,
  args: string[],
  cwd = path.dirname(configFile),
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args, '--config', configFile], { cwd });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: out.trim() }));
  });
}
export const postgresUrl = process.env.TASQ_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export const redisUrl = process.env.TASQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function requirePostgres(): Promise<string | undefined> {
  return requireService('PostgreSQL at 127.0.0.1:5432', async () => {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
    await client.connect();
    await client.end();
  });
}

export interface Database {
  label: 'sqlite' | 'postgres';
  /** The broker part of a configuration. */
  broker: TasqConfigInput;
  folder: string;
  cleanup(): Promise<void>;
}

export function sqliteDatabase(): Database {
  const folder = mkdtempSync(path.join(tmpdir(), 'tasq-cluster-'));
  return {
    label: 'sqlite',
    broker: { sqlite: path.join(folder, 'tasq.db') },
    folder,
    cleanup: async () => rmSync(folder, { recursive: true, force: true }),
  };
}

export function postgresDatabase(): Database {
  const folder = mkdtempSync(path.join(tmpdir(), 'tasq-cluster-'));
  const schema = `tasq_cluster_${randomBytes(4).toString('hex')}`;
  return {
    label: 'postgres',
    broker: { postgres: { url: postgresUrl, schema } },
    folder,
    cleanup: async () => {
      rmSync(folder, { recursive: true, force: true });
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export function configFor(database: Database, options: TasqConfigInput = {}): ResolvedConfig {
  return resolveConfig(
    {
      ...database.broker,
      tasks: [tasksModule],
      workers: 1,
      queue: `q-${randomBytes(4).toString('hex')}`,
      guardCycle: '100ms',
      secret: 'cluster-test-secret',
      ...options,
    },
    { env: {} },
  );
}

export async function runCluster(
  config: ResolvedConfig,
  options: StartClusterOptions = {},
): Promise<ClusterHandle> {
  return startCluster(config, { workerExecArgv: [], reserveWaitMs: 1_000, ...options });
}

// The shared wait helpers: `eventually` polls every 50 ms, 10 s by default.
export { eventually, sleep };

export function requireRedis(): Promise<string | undefined> {
  return requireService('Redis at 127.0.0.1:6379', async () => {
    const answer = await redisCommand(redisUrl, ['PING']);
    if (!answer.startsWith('+PONG')) throw new Error(`unexpected answer ${answer.trim()}`);
  });
}

/** Delete a test's keys (and only them): everything under its own prefix. */
export function deleteRedisPrefix(prefix: string): Promise<void> {
  return deleteRedisKeys(redisUrl, prefix);
}

/**
 * A redis-server of the test's own on a spare port, durable (every write is on disk before it is
 * answered, so a restart finds the queues as they were left), to kill and start again without touching
 * the shared server.
 */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly folder: string,
  ) {}

  static async start(folder: string): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), folder);
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start (again, on the same port and data) and wait until it answers PING. */
  async start(): Promise<void> {
    const durable = ['--appendonly', 'yes', '--appendfsync', 'always'];
    this.child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.folder, '--save', '', ...durable],
      { stdio: 'ignore' },
    );
    await eventually(
      () =>
        redisCommand(this.url, ['PING']).then(
          (answer) => answer.startsWith('+PONG'),
          () => false,
        ),
      10_000,
      `redis-server on port ${this.port}`,
    );
  }

  /** Kill it at once (SIGKILL: a crash) and wait until it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

/**
 * The SQS emulator (fauxqs) in this process on a spare port, stopped after the calling file's tests;
 * `settings(host, port)` is the broker configuration for an address that leads to it (itself, or a
 * proxy in front of it). Or a skip reason when it cannot start (an error under CI=true).
 */
export async function sqsEmulator(): Promise<{
  skipReason?: string;
  address: { host: string; port: number };
  settings(host: string, port: number): TasqConfigInput;
}> {
  let server: Awaited<ReturnType<typeof startFauxqs>> | undefined;
  const skipReason = await requireService('fauxqs SQS emulator (in-process)', async () => {
    server = await startFauxqs({ port: 0, logger: false });
  });
  afterAll(async () => {
    await server?.stop();
  });
  const { hostname, port } = new URL(server?.address ?? 'http://127.0.0.1:0');
  return {
    ...(skipReason ? { skipReason } : {}),
    address: { host: hostname, port: Number(port) },
    settings: (host, at) => ({
      sqs: {
        endpoint: `http://${host}:${at}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        createQueues: true,
      },
    }),
  };
}
