/**
 * Four processes claim from one queue of 5,000 packages: every package is delivered exactly once, on
 * PostgreSQL (FOR UPDATE SKIP LOCKED) and on one SQLite file shared by the processes (BEGIN IMMEDIATE).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmBroker } from './index.js';
import {
  dropSchema,
  postgresUrl,
  requirePostgres,
  temporaryFolder,
  uniqueSchema,
} from './test-support/databases.js';

const workerScript = fileURLToPath(new URL('./test-support/claim-worker.mjs', import.meta.url));
const builtPackage = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const processes = 4;
const total = 5_000;

type Acked = [id: string, deliveries: number, body: string];

function startWorker(
  url: string,
  schema: string,
  queue: string,
): { child: ChildProcess; ready: Promise<void>; done: Promise<Acked[]> } {
  const child = fork(workerScript, [url, schema, queue], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['--disable-warning=ExperimentalWarning'],
  });
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const done = new Promise<Acked[]>((resolve, reject) => {
    child.on('message', (message: { type: string; acked?: Acked[] }) => {
      if (message.type === 'ready') markReady();
      if (message.type === 'done') resolve(message.acked ?? []);
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`claim worker exited with code ${code}`));
    });
    child.on('error', reject);
  });
  return { child, ready, done };
}

async function claimWithProcesses(
  url: string,
  schema: string,
): Promise<{ sent: string[]; ids: string[]; perProcess: Acked[][] }> {
  const queue = uniqueName('processes');
  const producer = await createOrmBroker(schema ? { url, schema } : { url });
  const sent = Array.from({ length: total }, (_, i) => `package-${i}`);
  const ids: string[] = [];
  try {
    for (let start = 0; start < total; start += 1_000) {
      ids.push(
        ...(await producer.enqueue(
          queue,
          sent.slice(start, start + 1_000).map((body) => new TextEncoder().encode(body)),
        )),
      );
    }
    const workers = Array.from({ length: processes }, () => startWorker(url, schema, queue));
    await Promise.all(workers.map((worker) => worker.ready));
    for (const worker of workers) worker.child.send('go');
    const perProcess = await Promise.all(workers.map((worker) => worker.done));
    expect(await producer.size(queue)).toMatchObject({ ready: 0, reserved: 0 });
    return { sent, ids, perProcess };
  } finally {
    await producer.close();
  }
}

function expectExactlyOnce({
  sent,
  ids,
  perProcess,
}: {
  sent: string[];
  ids: string[];
  perProcess: Acked[][];
}): void {
  const all = perProcess.flat();
  expect(all).toHaveLength(total);
  expect(new Set(all.map(([id]) => id)).size).toBe(total);
  expect(all.map(([id]) => id).sort()).toEqual([...ids].sort());
  expect(all.map(([, , body]) => body).sort()).toEqual([...sent].sort());
  expect(all.every(([, deliveries]) => deliveries === 1)).toBe(true);
  // More than one process took part: the claims really raced.
  expect(perProcess.filter((acked) => acked.length > 0).length).toBeGreaterThan(1);
}

describe('four processes claiming one queue', () => {
  it('the built package exists (the test runs after `build`)', () => {
    expect(existsSync(builtPackage)).toBe(true);
  });

  describe('SQLite file shared by the processes', () => {
    const folder = temporaryFolder('processes');
    afterAll(() => folder.remove());

    it('delivers each of 5,000 packages exactly once', async () => {
      expectExactlyOnce(await claimWithProcesses(`sqlite:${folder.file('shared.db')}`, ''));
    }, 120_000);
  });

  describe('PostgreSQL', async () => {
    const skipReason = await requirePostgres();
    const schema = uniqueSchema('processes');
    afterAll(async () => {
      if (!skipReason) await dropSchema(schema);
    });

    it.skipIf(skipReason !== undefined)(
      'delivers each of 5,000 packages exactly once',
      async () => {
        expectExactlyOnce(await claimWithProcesses(postgresUrl, schema));
      },
      120_000,
    );
  });
});
