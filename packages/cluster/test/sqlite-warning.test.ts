/**
 * node:sqlite's ExperimentalWarning stays out of tasq's own processes (the CLI, its worker processes and
 * threads) and nowhere else: an application that imports @tasq/cluster still sees Node's warnings.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPath, type Database, eventually, sqliteDatabase } from './support.js';

const sqliteTasks = fileURLToPath(new URL('./fixtures/sqlite-tasks.mjs', import.meta.url));
const WARNING = /ExperimentalWarning: SQLite/;
let database: Database;

beforeAll(() => {
  database = sqliteDatabase();
});
afterAll(() => database.cleanup());

describe('the node:sqlite experimental warning', () => {
  it.each(['process', 'thread'] as const)(
    'is not printed by tasq cluster, its CLI or its %s workers',
    async (pool) => {
      const configFile = path.join(database.folder, `tasq.${pool}.json`);
      writeFileSync(
        configFile,
        JSON.stringify({
          ...database.broker,
          queue: pool,
          tasks: [sqliteTasks],
          workers: 1,
          pool,
          secret: 's',
        }),
      );
      const cluster = spawn(process.execPath, [cliPath, 'cluster', '--config', configFile], {
        cwd: database.folder,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let clusterErr = '';
      cluster.stderr.on('data', (chunk) => (clusterErr += chunk));
      try {
        await eventually(() => clusterErr.includes('cluster running'), 20_000, 'the cluster to start');
        const enqueued = spawnSync(
          process.execPath,
          [cliPath, 'enqueue', 'sqlite.open', '--wait', '--timeout', '20s', '--config', configFile],
          { cwd: database.folder, encoding: 'utf8' },
        );
        expect(enqueued.stdout).toMatch(/result: 42$/m);
        expect(enqueued.stderr).not.toMatch(WARNING);
      } finally {
        cluster.kill('SIGTERM');
        await new Promise((resolve) => cluster.once('exit', resolve));
      }
      expect(clusterErr).not.toMatch(WARNING);
    },
  );

  it('is still printed in an application that imports @tasq/cluster and opens SQLite', () => {
    const run = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "await import('@tasq/cluster'); await import('node:sqlite');"],
      { cwd: path.resolve(import.meta.dirname, '..'), encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(WARNING);
  });
});
