/**
 * Test support: a deployment on a real SQLite file of the test's own (unique deployment name and
 * queue), a real cluster running in this process, and an HTTP client that keeps cookies like a browser.
 */
import {
  deleteRedisPrefix as deleteRedisKeys,
  redisCommand,
  requireService,
  eventually as sharedEventually,
} from '@tasq/testing';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClusterHandle, startCluster } from '@tasq/cluster';
import { type ResolvedConfig, resolveConfig, type TasqConfigInput } from '@tasq/core';

export const tasksModule = fileURLToPath(new URL('./fixtures/tasks.mjs', import.meta.url));
export const OPERATOR_PASSWORD = 'operator-password-1';
export const VIEWER_PASSWORD = 'viewer-password-1';

export interface TestDeployment {
  config: ResolvedConfig;
  queue: string;
  folder: string;
  cleanup(): void;
}

export function testDeployment(options: TasqConfigInput = {}): TestDeployment {
  const folder = mkdtempSync(path.join(tmpdir(), 'tasq-dashboard-'));
  const id = randomBytes(4).toString('hex');
  const queue = `dash-${id}`;
  const config = resolveConfig(
    {
      name: `dash-${id}`,
      // Another broker in `options` replaces the SQLite file; RabbitMQ keeps its results in one.
      ...(options.redis === undefined && options.rabbitmq === undefined
        ? { sqlite: path.join(folder, 'tasq.db') }
        : {}),
      ...(options.rabbitmq !== undefined
        ? { resultBackend: { sqlite: path.join(folder, 'results.db') } }
        : {}),
      tasks: [tasksModule],
      workers: 1,
      concurrency: 4,
      queue,
      guardCycle: '100ms',
      secret: 'dashboard-test-secret',
      dashboard: { password: OPERATOR_PASSWORD, viewerPassword: VIEWER_PASSWORD },
      ...options,
    },
    { env: {} },
  );
  return { config, queue, folder, cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

export function runCluster(config: ResolvedConfig): Promise<ClusterHandle> {
  return startCluster(config, { workerExecArgv: [], reserveWaitMs: 500, heartbeatMs: 1_000 });
}

export { sleep } from '@tasq/testing';

/** The shared `eventually`, with the longer wait and slower polling a browser page needs. */
export function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  return sharedEventually(check, timeoutMs, what, 100);
}

/** A client that keeps the session cookie, as a browser does. */
export class Client {
  private cookie: string | undefined;

  constructor(readonly baseUrl: string) {}

  async request(
    method: string,
    pathname: string,
    options: {
      form?: Record<string, string>;
      json?: unknown;
      headers?: Record<string, string>;
      body?: string;
    } = {},
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (this.cookie) headers.cookie = this.cookie;
    let body: string | undefined = options.body;
    if (options.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(options.form).toString();
    } else if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await fetch(new URL(pathname.replace(/^\//, ''), this.baseUrl), {
      method,
      headers,
      body,
      redirect: 'manual',
    });
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) {
      const [pair] = setCookie.split(';');
      this.cookie = /=$/.test(pair!) ? undefined : pair;
    }
    return { status: response.status, text: await response.text(), headers: response.headers };
  }

  /** Sign in; returns the status of the answer (303 on success). */
  async login(password: string): Promise<number> {
    return (await this.request('POST', '/login', { form: { password } })).status;
  }

  /** The CSRF token the signed-in pages carry. */
  async csrf(): Promise<string> {
    const page = await this.request('GET', '/queues');
    const match = /data-csrf="([^"]+)"/.exec(page.text);
    if (!match) throw new Error(`no CSRF token on the page (status ${page.status})`);
    return match[1]!;
  }
}

export const redisUrl = process.env.TASQ_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Undefined when Redis answers; else why its tests skip (an error under CI=true). */
export function requireRedis(): Promise<string | undefined> {
  return requireService(`Redis at ${redisUrl}`, async () => {
    const answer = await redisCommand(redisUrl, ['PING']);
    if (!answer.startsWith('+PONG')) throw new Error(`unexpected answer ${answer.trim()}`);
  });
}

/** Delete a test's keys (and only them): everything under its own prefix. */
export function deleteRedisPrefix(prefix: string): Promise<void> {
  return deleteRedisKeys(redisUrl, prefix);
}
