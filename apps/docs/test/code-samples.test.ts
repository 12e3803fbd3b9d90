/**
 * Every TypeScript sample on the site compiles against the current packages (strict, as an ES module
 * app with NodeNext resolution), and the pages marked `<!-- run: app.ts -->` run: their compiled app
 * enqueues on the embedded SQLite default while a `tasq cluster` runs their tasks, and exits 0.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { docsFolder, markdownPages, type Page, readPage, sampleFolderOf } from './samples.js';

const samplesRoot = path.join(docsFolder, '.samples');
const sourceFolder = path.join(samplesRoot, 'src');
const outFolder = path.join(samplesRoot, 'out');
const repositoryRoot = path.resolve(docsFolder, '../..');
const pages = markdownPages().map(readPage);

let compileOutput = '';

beforeAll(() => {
  rmSync(samplesRoot, { recursive: true, force: true });
  for (const page of pages) {
    const folder = path.join(sourceFolder, sampleFolderOf(page));
    mkdirSync(folder, { recursive: true });
    for (const sample of page.samples) writeFileSync(path.join(folder, sample.name), sample.code);
  }
  writeFileSync(
    path.join(samplesRoot, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../../tsconfig.base.json',
      compilerOptions: {
        rootDir: 'src',
        outDir: 'out',
        declaration: false,
        declarationMap: false,
        sourceMap: false,
      },
      include: ['src'],
    }),
  );
  const tsc = spawnSync(
    process.execPath,
    [
      path.join(repositoryRoot, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(samplesRoot, 'tsconfig.json'),
    ],
    { encoding: 'utf8' },
  );
  compileOutput = `${tsc.stdout}${tsc.stderr}`.trim();
});

describe('the code samples of the site', () => {
  it('are found on the pages that teach with code', () => {
    const withSamples = pages.filter((page) => page.samples.length > 0).map((page) => page.file);
    expect(withSamples).toEqual(expect.arrayContaining(['getting-started.md', 'concepts/canvas.md']));
  });

  it('all compile against the current packages', () => {
    expect(compileOutput).toBe('');
  });

  const runnable = pages.filter((page): page is Page & { run: string } => page.run !== undefined);
  it.each(runnable.map((page) => [page.file, page] as const))(
    '%s runs on SQLite and exits',
    async (_file, page) => {
      const folder = path.join(outFolder, sampleFolderOf(page));
      expect(existsSync(path.join(folder, page.run.replace(/\.ts$/, '.js')))).toBe(true);
      const env = {
        ...process.env,
        TASQ_TASKS: './tasks.js',
        TASQ_WORKERS: '1',
        TASQ_SECRET: 'docs-samples',
      };
      const cluster = spawn(
        process.execPath,
        [path.join(repositoryRoot, 'packages/cluster/bin/tasq.js'), 'cluster', '--log-format', 'json'],
        { cwd: folder, env, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let log = '';
      cluster.stderr.on('data', (chunk) => (log += chunk));
      const exited = new Promise((resolve) => cluster.once('exit', resolve));
      try {
        const started = Date.now();
        while (!log.includes('"cluster running"')) {
          if (cluster.exitCode !== null || Date.now() - started > 30_000)
            throw new Error(`no cluster:\n${log}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const run = spawnSync(process.execPath, [page.run.replace(/\.ts$/, '.js')], {
          cwd: folder,
          env,
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
      } finally {
        cluster.kill('SIGTERM');
        await exited;
      }
    },
  );
});
