/**
 * The README's first command ends here: start a cluster (the `tasq cluster` command, as a child process),
 * enqueue the example jobs, print their results, and stop the cluster with SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, Signature, TaskFailedError } from '@tasq/core';
import { add, double, flaky, label, slow, square, total } from './tasks.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const configFile = path.join(root, 'dist', 'tasq.config.js');
const cli = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@tasq/cluster/package.json')),
  'bin',
  'tasq.js',
);

function startCluster(): ChildProcess {
  const child = spawn(process.execPath, [cli, 'cluster', '--config', configFile, '--log-level', 'warn'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) console.log(`   cluster | ${line}`);
  });
  return child;
}

function stopCluster(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

const show = (what: string, value: unknown) => console.log(`  ✔ ${what.padEnd(44)} ${JSON.stringify(value)}`);
const showExpectedFailure = (what: string, error: unknown) =>
  console.log(
    `  ✔ ${what.padEnd(44)} failed as it should: ${error instanceof TaskFailedError ? `${error.remote.name}: ${error.remote.message}` : String(error)}`,
  );

const tasq = await connect(undefined, { file: configFile, cwd: root });
console.log(`tasq example on the ${tasq.config.broker.module} broker (deployment "${tasq.config.name}")`);
const cluster = startCluster();
let problems = 0;
try {
  const timeout = 30_000;
  const tag = `run-${randomBytes(3).toString('hex')}`;
  const fast = await tasq.enqueue(add, 2, 3);
  const slowJob = await tasq.enqueue(slow, 300);
  const tooSlow = await tasq.enqueue(slow, 5_000);
  const retried = await tasq.enqueue(flaky, 'tasq');
  // A chain link's own arguments come after the previous result; `label.s()` types the first
  // parameter, so the link is written as a Signature with only its trailing argument.
  const chain = await tasq.chain([add.s(2, 3), double.s(), new Signature(label.name, [tag])]).enqueue();
  const chord = await tasq
    .chord(
      [1, 2, 3, 4, 5].map((n) => square.s(n)),
      total.s(),
    )
    .enqueue();
  console.log('enqueued 6 jobs (a fast one, two slow ones, a flaky one, a chain of 3 and a chord of 5+1)\n');

  show('add(2, 3)', await fast.result({ timeout }));
  show('slow(300), within its 1 s timeout', await slowJob.result({ timeout }));
  try {
    await tooSlow.result({ timeout });
    problems++;
    console.log('  ✘ slow(5000) should have timed out');
  } catch (error) {
    if (!(error instanceof TaskFailedError)) throw error;
    showExpectedFailure('slow(5000), killed at its 1 s timeout', error);
  }
  show('flaky("tasq"), failed once then retried', await retried.result({ timeout }));
  // The chain's handle is its last link: its result is the whole chain's.
  show('chain add(2, 3) → double → label', await chain.result({ timeout }));
  show('chord sum of squares of 1..5', await chord.result({ timeout }));
} catch (error) {
  problems++;
  console.error(`\ndemo failed: ${(error as Error).message}`);
} finally {
  const code = await stopCluster(cluster);
  await tasq.close();
  console.log(`\ncluster stopped with SIGTERM (exit code ${code})`);
  if (code !== 0) problems++;
}
process.exitCode = problems === 0 ? 0 : 1;
