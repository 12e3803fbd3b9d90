/**
 * Cluster-wide rate limits: two cluster processes on Redis share one limit through the broker's rate
 * limiter, so together they never start more tasks than the limit allows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, Tasq } from '@tasq/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Database,
  deleteRedisPrefix,
  eventually,
  redisUrl,
  requireRedis,
  sqliteDatabase,
  tasksModule,
} from './support.js';

const runner = fileURLToPath(new URL('./fixtures/run-cluster.mjs', import.meta.url));
const skipReason = await requireRedis();

const LIMIT = 20;
const JOBS = 60;

describe.skipIf(skipReason !== undefined)(`cluster-wide rate limit on Redis ${skipReason ?? ''}`, () => {
  let folder: Database;
  const children: ChildProcess[] = [];
  const prefix = `tasq-cluster-test-${randomBytes(4).toString('hex')}`;

  beforeAll(() => {
    folder = sqliteDatabase();
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map((child) => (child.exitCode === null ? once(child, 'exit') : undefined)));
    await deleteRedisPrefix(prefix);
    await folder.cleanup();
  });

  it(`holds ${LIMIT}/s across two clusters`, async () => {
    const stamps = path.join(folder.folder, 'stamps');
    const input = {
      redis: { url: redisUrl, prefix },
      tasks: [tasksModule],
      secret: 'rate-limit-test-secret',
      pool: 'inline' as const,
      workers: 1,
      concurrency: 10,
      bulk: 10,
      scheduler: false,
      rateLimits: { 'test.stamp-pid': `${LIMIT}/s` },
    };
    const configFile = path.join(folder.folder, 'tasq.config.json');
    writeFileSync(configFile, JSON.stringify(input));
    const started: string[] = [];
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [runner, configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout!.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.includes('"cluster started"')) started.push(JSON.parse(line).rateLimits);
        }
      });
      children.push(child);
    }
    await eventually(() => started.length === 2, 20_000, 'both clusters');
    expect(started).toEqual(['shared', 'shared']);

    const client = await Tasq.open(resolveConfig(input, { env: {} }));
    try {
      await Promise.all(Array.from({ length: JOBS }, () => client.enqueueByName('test.stamp-pid', [stamps])));
    } finally {
      await client.close();
    }
    const runs = await eventually(
      () => {
        const lines = readFileSync(stamps, { encoding: 'utf8', flag: 'a+' }).split('\n').filter(Boolean);
        return lines.length >= JOBS ? lines : undefined;
      },
      15_000,
      'every job',
    );
    const times = runs.map((line) => Number(line.split(' ')[0])).sort((a, b) => a - b);
    const pids = new Set(runs.map((line) => line.split(' ')[1]));
    expect(pids.size).toBe(2);
    // A token bucket of LIMIT per second allows at most LIMIT + LIMIT × (seconds between them) starts in any
    // stretch of time; 2 starts of slack for the time between taking a token and the task's first line.
    for (let i = 0; i < times.length; i++) {
      for (let j = i + 1; j < times.length; j++) {
        const allowed = LIMIT + ((times[j]! - times[i]!) * LIMIT) / 1000 + 2;
        expect(j - i + 1, `starts between ${i} and ${j}`).toBeLessThanOrEqual(allowed);
      }
    }
  });
});
