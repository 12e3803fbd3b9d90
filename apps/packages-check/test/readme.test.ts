/**
 * The root README's code runs as written, in an app outside the monorepo with the packed tarballs: its
 * tasks.ts and app.ts compile, `node dist/app.js` prints 3 and exits (every connection closed) with a
 * cluster running, on the embedded SQLite default and with the README's tasq.config.ts on Redis.
 */
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { type ConsumerApp, createConsumerApp, typeCheck } from './consumer-app.js';
import { repositoryRoot } from './packages.js';

const tarballs = inject('tarballs');

/** The README's TypeScript blocks as files: each file starts at a `// name.ts` comment line. */
function readmeFiles(): Record<string, string> {
  const readme = readFileSync(path.join(repositoryRoot, 'README.md'), 'utf8');
  const files: Record<string, string> = {};
  for (const [, block] of readme.matchAll(/```ts\n([\s\S]*?)```/g)) {
    let current: string | undefined;
    for (const line of block!.split('\n')) {
      const name = /^\/\/ ([\w.-]+\.ts)\b/.exec(line)?.[1];
      if (name) current = name;
      if (current === undefined)
        throw new Error(`a README ts block does not start with // <file>.ts:\n${block}`);
      files[current] = `${files[current] ?? ''}${line}\n`;
    }
  }
  return files;
}

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const redisUp = await reachable(6379);
const redisSkip = redisUp
  ? undefined
  : process.env.CI
    ? undefined // under CI the test runs and fails: Redis must be there
    : 'Redis is not reachable on 127.0.0.1:6379';

describe('the README snippets', () => {
  const files = readmeFiles();
  let app: ConsumerApp;
  beforeAll(() => {
    app = createConsumerApp('module', tarballs, ['@tasq/core', '@tasq/orm', '@tasq/redis', '@tasq/cluster']);
    for (const [name, text] of Object.entries(files)) if (name !== 'tasq.config.ts') app.write(name, text);
  });

  it('are tasks.ts, app.ts and tasq.config.ts, and compile', () => {
    expect(Object.keys(files).sort()).toEqual(['app.ts', 'tasks.ts', 'tasq.config.ts']);
    expect(
      typeCheck(app.folder, ['tasks.ts', 'app.ts'], { module: 'nodenext', target: 'es2023', outDir: 'dist' }),
    ).toBe('');
  });

  it('run and exit on the embedded SQLite default', async () => {
    const cluster = await app.startCluster({ env: { TASQ_TASKS: './dist/tasks.js', TASQ_WORKERS: '1' } });
    try {
      const run = app.run('dist/app.js', { timeoutMs: 30_000 });
      expect(run.stdout, run.stderr).toBe('3\n');
      expect(run.status).toBe(0);
    } finally {
      await cluster.stop();
    }
  });

  it.skipIf(redisSkip !== undefined)('run and exit with the README configuration on Redis', async () => {
    app.write('tasq.config.ts', files['tasq.config.ts']!);
    // Only what the README leaves to the environment: the secret, and a deployment name of this test's own.
    const env = { TASQ_SECRET: 'readme-test-secret', TASQ_NAME: `readme-${process.pid}-${Date.now()}` };
    const cluster = await app.startCluster({ env });
    try {
      const run = app.run('dist/app.js', { env, timeoutMs: 30_000 });
      expect(run.stdout, run.stderr).toBe('3\n');
      expect(run.status, 'the app exits once its work is done').toBe(0);
    } finally {
      await cluster.stop();
      app.write(
        'cleanup.mjs',
        `import Redis from 'ioredis';
const redis = new Redis('redis://127.0.0.1:6379');
let cursor = '0';
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', 'tasq:${env.TASQ_NAME}:*', 'COUNT', 1000);
  cursor = next;
  if (keys.length > 0) await redis.del(...keys);
} while (cursor !== '0');
await redis.quit();
`,
      );
      expect(app.run('cleanup.mjs').status).toBe(0);
    }
  });
});
