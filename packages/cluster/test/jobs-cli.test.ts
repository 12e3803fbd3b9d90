/**
 * `tasq jobs`, `tasq job ...`, `tasq dead ...` and `tasq queue pause|resume` as an operator runs them:
 * real child processes on a real SQLite file and a real PostgreSQL schema. The jobs are enqueued by a
 * client, and one is dead-lettered through the broker as a cluster that gave up on it would.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { isCi } from '@tasq/testing';
import { loadConfig, Tasq } from '@tasq/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cliPath,
  type Database,
  postgresDatabase,
  requirePostgres,
  sqliteDatabase,
  tasksModule,
} from './support.js';
import { runtimeServicesOf } from '@tasq/core/internal';

const postgresSkip = await requirePostgres();

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function cli(configFile: string, cwd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args, '--config', configFile], { cwd });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: out.trim(), err: err.trim() }));
  });
}

const databases: Database[] = [];
afterAll(async () => {
  for (const database of databases) await database.cleanup();
});

for (const [label, make, skip] of [
  ['SQLite', sqliteDatabase, undefined],
  ['PostgreSQL', postgresDatabase, postgresSkip],
] as const) {
  const skipped = skip !== undefined && !isCi();
  describe.skipIf(skipped)(
    `job administration from the command line on ${label}${skipped ? `: skipped: ${skip}` : ''}`,
    () => {
      it('lists, shows, cancels, removes, requeues dead letters, pauses and explains refusals with distinct exit codes', async () => {
        const database = make();
        databases.push(database);
        const queue = `jobs-${randomBytes(4).toString('hex')}`;
        const configFile = path.join(database.folder, 'tasq.config.json');
        writeFileSync(
          configFile,
          JSON.stringify({ ...database.broker, tasks: [tasksModule], queue, secret: 'jobs-cli-secret' }),
        );
        const tasq = (...args: string[]) => cli(configFile, database.folder, args);
        const client = await Tasq.open(await loadConfig({ file: configFile, cwd: database.folder, env: {} }));
        try {
          const first = await client.enqueueByName('test.add', [1, 2]);
          const second = await client.enqueueByName('test.add', [3, 4]);
          const third = await client.enqueueByName('test.noop', []);
          const later = await client.enqueueByName('test.add', [5, 6], { delay: '1h' });

          // Newest first, a page at a time.
          const all = await tasq('jobs', '--json');
          expect(all.code).toBe(0);
          expect(JSON.parse(all.out).jobs.map((job: { id: string }) => job.id)).toEqual([
            later.id,
            third.id,
            second.id,
            first.id,
          ]);
          const page = JSON.parse((await tasq('jobs', '--limit', '2', '--json')).out);
          expect(page.jobs.map((job: { id: string }) => job.id)).toEqual([later.id, third.id]);
          const rest = JSON.parse((await tasq('jobs', '--limit', '2', '--cursor', page.next, '--json')).out);
          expect(rest.jobs.map((job: { id: string }) => job.id)).toEqual([second.id, first.id]);
          expect(rest.next).toBeUndefined();
          const scheduled = await tasq('jobs', '--state', 'scheduled');
          expect(scheduled.out).toMatch(
            new RegExp(`^${later.id}\\s+scheduled\\s+test\\.add\\s+${queue}\\s+attempts 0`),
          );
          const noops = JSON.parse((await tasq('jobs', '--task', 'test.noop', '--json')).out);
          expect(noops.jobs.map((job: { id: string }) => job.id)).toEqual([third.id]);
          const badState = await tasq('jobs', '--state', 'sleeping');
          expect(badState.code).toBe(2);
          expect(badState.err).toMatch(/--state must be one of queued, scheduled, .*"sleeping"/);

          // One job by id.
          const shown = await tasq('job', 'show', first.id);
          expect(shown.code).toBe(0);
          expect(shown.out).toMatch(
            new RegExp(`^id\\s+${first.id}\\nstate\\s+queued\\nqueue\\s+${queue}\\ntask\\s+test\\.add`),
          );
          expect(JSON.parse((await tasq('job', 'show', first.id, '--args', '--json')).out)).toMatchObject({
            id: first.id,
            state: 'queued',
            args: [1, 2],
          });
          const unknown = await tasq('job', 'show', 'no-such-job');
          expect(unknown.code).toBe(3);
          expect(unknown.out).toMatch(/state\s+unknown/);

          // Cancel a queued job: it leaves the queue and is stored as cancelled; cancelling again is refused.
          expect((await tasq('job', 'cancel', first.id)).out).toBe(
            `${first.id}: cancelled (taken out of its queue before it started)`,
          );
          expect(JSON.parse((await tasq('job', 'show', first.id, '--json')).out)).toMatchObject({
            state: 'cancelled',
            error: { name: 'JobCancelledError' },
          });
          await expect(client.job(first.id).result({ timeout: '1s' })).rejects.toThrow(/JobCancelledError/);
          const again = await tasq('job', 'cancel', first.id);
          expect(again.code).toBe(6);
          expect(again.err).toMatch(/already finished \(cancelled\)/);

          // Remove a queued job: gone, nothing stored.
          expect((await tasq('job', 'remove', second.id)).out).toBe(`${second.id}: removed from its queue`);
          expect((await tasq('job', 'show', second.id)).code).toBe(3);
          expect((await tasq('job', 'remove', second.id)).code).toBe(3);

          // A queued job cannot be retried.
          const notFinished = await tasq('job', 'retry', third.id);
          expect(notFinished.code).toBe(7);
          expect(notFinished.err).toMatch(
            /is queued: only failed, dead, cancelled or expired jobs can be retried/,
          );

          // A dead letter: listed with its reason, requeued once with fresh attempts.
          const [delivery] = await runtimeServicesOf(client).broker.reserve(queue, {
            max: 1,
            leaseMs: 30_000,
            waitMs: 1_000,
          });
          expect(delivery).toBeDefined();
          await runtimeServicesOf(client).broker.deadLetter(delivery!, 'gave up after 3 attempts');
          const dead = await tasq('dead', 'list');
          expect(dead.out).toMatch(
            new RegExp(
              `^${third.id}\\s+dead\\s+test\\.noop\\s+${queue}\\s+attempts 1\\s+\\S+\\s+gave up after 3 attempts$`,
            ),
          );
          const requeued = await tasq('dead', 'requeue', third.id);
          expect(requeued).toMatchObject({ code: 0, out: `${third.id}: requeued with fresh attempts` });
          const twice = await tasq('dead', 'requeue', third.id);
          expect(twice.code).toBe(5);
          expect(twice.out).toBe(`${third.id}: not a dead letter (requeued already, or never dead)`);
          expect(JSON.parse((await tasq('job', 'show', third.id, '--json')).out)).toMatchObject({
            state: 'queued',
            attempts: 0,
          });
          expect((await tasq('dead', 'list')).out).toBe(`no dead letters on queue "${queue}"`);
          expect((await tasq('dead', 'requeue')).code).toBe(2);

          // Pause and resume: persisted, shown by queue size; enqueues still go in.
          expect((await tasq('queue', 'pause', queue)).out).toBe(
            `${queue}: paused (clusters take no new jobs from it; enqueues still succeed)`,
          );
          await client.enqueueByName('test.noop', []);
          expect((await tasq('queue', 'size', queue)).out).toBe(
            `${queue}: ready 2  delayed 1  reserved 0  dead 0  (paused)`,
          );
          expect(JSON.parse((await tasq('queue', 'size', queue, '--json')).out)).toMatchObject({
            paused: true,
            ready: 2,
          });
          expect((await tasq('queue', 'resume', queue)).out).toBe(`${queue}: resumed`);
          expect((await tasq('queue', 'size', queue)).out).toBe(
            `${queue}: ready 2  delayed 1  reserved 0  dead 0`,
          );

          // Purge by age and count takes whole queues only.
          expect((await tasq('dead', 'purge', '--keep', '0')).out).toBe(`${queue}: deleted 0 dead letter(s)`);
          expect((await tasq('dead', 'purge', '--keep', 'some')).code).toBe(2);
          expect((await tasq('jobs', '--help')).out).toMatch(/^Usage: tasq jobs/);
          expect((await tasq('job', '--help')).out).toMatch(/3 unknown job id, 4 not supported/);
        } finally {
          await client.close();
        }
      }, 120_000);
    },
  );
}
