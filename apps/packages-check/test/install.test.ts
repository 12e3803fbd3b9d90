/**
 * The packed tarballs installed with plain npm into an empty CommonJS app (`npm init -y`) and an empty ES
 * module app: each loads its tasq.config.ts, runs a cluster from the installed `tasq` command, enqueues a
 * job on the embedded SQLite default, prints the result and exits; TypeScript accepts both apps' imports.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { type ConsumerApp, createConsumerApp, typeCheck } from './consumer-app.js';

const tarballs = inject('tarballs');
const installed = ['@tasq/core', '@tasq/orm', '@tasq/cluster'];

const config = (tasks: string) => `import { defineConfig } from '@tasq/core';
export default defineConfig({ tasks: ['${tasks}'], workers: 1, secret: 'install-test-secret' });
`;

/** With `tasq cluster` running, `node app.js` prints 3 and exits 0; the cluster stops cleanly, unwarned. */
async function expectJobRunsEndToEnd(app: ConsumerApp): Promise<void> {
  const cluster = await app.startCluster();
  try {
    const run = app.run('app.js');
    expect(run.stdout, run.stderr).toBe('3\n');
    expect(run.status).toBe(0);
  } finally {
    expect(await cluster.stop()).toBe(0);
  }
  expect(cluster.log()).not.toMatch(/ExperimentalWarning/);
}

describe('an empty CommonJS app (npm init -y)', () => {
  let app: ConsumerApp;
  beforeAll(() => {
    app = createConsumerApp('commonjs', tarballs, installed);
  });

  it('runs a job on SQLite end to end with require()', async () => {
    app.write('tasq.config.ts', config('./tasks.js'));
    app.write(
      'tasks.js',
      `const { defineTask } = require('@tasq/core');
exports.add = defineTask('math.add', (a, b) => a + b);
`,
    );
    app.write(
      'app.js',
      `const { connect } = require('@tasq/core');
const { add } = require('./tasks.js');
(async () => {
  const tasq = await connect();
  const job = await tasq.enqueue(add, 1, 2);
  console.log(await job.result({ timeout: 30_000 }));
  await tasq.close();
})();
`,
    );
    await expectJobRunsEndToEnd(app);
  });

  it('type-checks CommonJS TypeScript that imports the packages (module nodenext)', () => {
    app.write(
      'typed.ts',
      `import { connect, defineTask } from '@tasq/core';
import { startCluster } from '@tasq/cluster';
export const add = defineTask('math.add', (a: number, b: number) => a + b);
export async function main(): Promise<number> {
  const tasq = await connect();
  const job = await tasq.enqueue(add, 1, 2);
  void startCluster;
  return job.result({ timeout: 1_000 });
}
`,
    );
    expect(typeCheck(app.folder, ['typed.ts'], { module: 'nodenext', target: 'es2023' })).toBe('');
  });
});

describe('an empty ES module app', () => {
  let app: ConsumerApp;
  beforeAll(() => {
    app = createConsumerApp('module', tarballs, installed);
  });

  it('runs a job on SQLite end to end with import', async () => {
    app.write('tasq.config.ts', config('./tasks.js'));
    app.write(
      'tasks.js',
      `import { defineTask } from '@tasq/core';
export const add = defineTask('math.add', (a, b) => a + b);
`,
    );
    app.write(
      'app.js',
      `import { connect } from '@tasq/core';
import { add } from './tasks.js';
const tasq = await connect();
const job = await tasq.enqueue(add, 1, 2);
console.log(await job.result({ timeout: 30_000 }));
await tasq.close();
`,
    );
    await expectJobRunsEndToEnd(app);
  });

  it.each([
    ['nodenext', { module: 'nodenext' }],
    ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
  ])('type-checks with %s resolution', (_name, options) => {
    app.write(
      'typed.ts',
      `import { connect, defineTask } from '@tasq/core';
import { createLogger } from '@tasq/cluster';
import { OrmBroker } from '@tasq/orm';
export const add = defineTask('math.add', (a: number, b: number) => a + b);
const tasq = await connect();
// @ts-expect-error: the arguments are typed from the task
await tasq.enqueue(add, '1', 2);
createLogger({ format: 'json' }).info({}, String(OrmBroker.name));
`,
    );
    expect(typeCheck(app.folder, ['typed.ts'], { ...options, target: 'es2023' })).toBe('');
  });
});
