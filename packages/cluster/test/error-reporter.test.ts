/**
 * Error reporters in a running cluster: a small reporter module written to a temporary folder (it
 * appends each report to a file) is loaded from `errorReporter`, receives every failed attempt with
 * `final` set right, gets redacted arguments only when it asks for them, is flushed and closed on stop,
 * and cannot hurt the cluster by throwing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger, TaskFailureReport } from '@tasq/core';
import { runtimeServicesOf } from '@tasq/core/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor, type Database, eventually, runCluster, sqliteDatabase } from './support.js';

let database: Database;
let reporterModule: string;

beforeAll(() => {
  database = sqliteDatabase();
  reporterModule = path.join(database.folder, 'file-reporter.mjs');
  // The documented way to write a reporter: a module whose default export is made by defineErrorReporter.
  writeFileSync(
    reporterModule,
    `import { appendFileSync } from 'node:fs';
import { defineErrorReporter } from ${JSON.stringify(import.meta.resolve('@tasq/core'))};

export default defineErrorReporter({
  create(options) {
    let calls = 0;
    const write = (line) => appendFileSync(options.file, JSON.stringify(line) + '\\n');
    return {
      name: 'file',
      async report(failure) {
        calls++;
        if (calls <= (options.failFirst ?? 0)) throw new Error('the reporter is broken');
        write(failure);
      },
      async flush() { write({ flushed: true }); },
      async close() { write({ closed: true }); },
    };
  },
});
`,
  );
});
afterAll(() => database.cleanup());

type Line = TaskFailureReport & { flushed?: boolean; closed?: boolean };
const readLines = (file: string): Line[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

describe('error reporter', () => {
  it('receives every failed attempt, final on the last one, with redacted arguments when it asks', async () => {
    const reports = path.join(database.folder, 'reports-1.jsonl');
    const cluster = await runCluster(
      configFor(database, {
        maxAttempts: 2,
        retry: '1s',
        errorReporter: { module: reporterModule, options: { file: reports, sendArgs: true } },
      }),
    );
    try {
      const { tasq } = cluster;
      const broken = await tasq.enqueueByName('test.broken', [{ user: 'ann', password: 'hunter2' }]);
      const flaky = await tasq.enqueueByName('test.flaky', [path.join(database.folder, 'flaky'), 1]);
      const fine = await tasq.enqueueByName('test.add', [1, 2]);
      for (const job of [broken, flaky, fine]) {
        await eventually(
          () => runtimeServicesOf(tasq).results.get(job.id),
          15_000,
          `the result of ${job.id}`,
        );
      }
      expect((await runtimeServicesOf(tasq).results.get(broken.id))?.status).toBe('failure');
      expect((await runtimeServicesOf(tasq).results.get(flaky.id))?.status).toBe('success');
      await cluster.stop();

      const lines = readLines(reports);
      // Flushed, then closed, after the last report.
      expect(lines.slice(-2)).toEqual([{ flushed: true }, { closed: true }]);
      const failures = lines.slice(0, -2);
      const brokenReports = failures.filter((r) => r.jobId === broken.id);
      expect(brokenReports.map((r) => [r.attempt, r.final])).toEqual([
        [1, false],
        [2, true],
      ]);
      for (const report of brokenReports) {
        expect(report).toMatchObject({
          task: 'test.broken',
          queue: cluster.config.queue,
          cluster: 'default',
          error: { name: 'TypeError', message: 'this task always fails' },
          args: [{ user: 'ann', password: '[redacted]' }],
        });
        expect(report.stoppedAt).toBeGreaterThanOrEqual(report.startedAt);
      }
      const flakyReports = failures.filter((r) => r.jobId === flaky.id);
      expect(flakyReports.map((r) => [r.attempt, r.final])).toEqual([[1, false]]);
      expect(failures).toHaveLength(3);
    } finally {
      await cluster.stop();
    }
  });

  it('gets no arguments unless it asks, and a reporter that throws is logged once and ignored', async () => {
    const reports = path.join(database.folder, 'reports-2.jsonl');
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_fields, message) => warnings.push(message ?? ''),
    };
    const cluster = await runCluster(
      configFor(database, {
        pool: 'inline',
        maxAttempts: 1,
        errorReporter: { module: reporterModule, options: { file: reports, failFirst: 2 } },
      }),
      { logger },
    );
    try {
      const jobs = await Promise.all(
        [1, 2, 3].map((n) => cluster.tasq.enqueueByName('test.broken', [{ n, token: 'secret' }])),
      );
      for (const job of jobs)
        await eventually(() => runtimeServicesOf(cluster.tasq).results.get(job.id), 10_000, 'a result');
      await cluster.stop();
      expect(cluster.stats.failed).toBe(3);
      const failures = readLines(reports).filter((line) => line.jobId !== undefined);
      expect(failures).toHaveLength(1);
      expect(failures[0]!.final).toBe(true);
      expect(failures[0]).not.toHaveProperty('args');
      expect(
        warnings.filter((w) => w.startsWith('error reporter failed: the reporter is broken')),
      ).toHaveLength(1);
    } finally {
      await cluster.stop();
    }
  });
});
