/**
 * An application outside the monorepo: an empty folder made by `npm init -y`, the packed tarballs
 * installed with plain npm (third-party dependencies from the registry), and helpers to run its files
 * with the Node version this test runs on.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface ConsumerApp {
  folder: string;
  write(file: string, text: string): void;
  /** Run `node file`, wait for it to exit (or fail after `timeoutMs`). */
  run(
    file: string,
    options?: { env?: Record<string, string>; timeoutMs?: number; cwd?: string },
  ): {
    status: number | null;
    stdout: string;
    stderr: string;
  };
  /** Start `tasq cluster` from the installed package; stop() ends it with SIGTERM and waits. */
  startCluster(options?: { env?: Record<string, string>; cwd?: string }): Promise<RunningCluster>;
}

export interface RunningCluster {
  log(): string;
  stop(): Promise<number | null>;
}

/** Well under the setup hook's 300 s, so a stuck install fails the hook with a reason instead of hanging it. */
const NPM_INSTALL_TIMEOUT_MS = 240_000;

export function createConsumerApp(
  kind: 'commonjs' | 'module',
  tarballs: Record<string, string>,
  packages: string[],
): ConsumerApp {
  const folder = mkdtempSync(path.join(tmpdir(), `tasq-${kind}-app-`));
  execFileSync('npm', ['init', '-y'], { cwd: folder, stdio: 'ignore' });
  if (kind === 'module') execFileSync('npm', ['pkg', 'set', 'type=module'], { cwd: folder, stdio: 'ignore' });
  try {
    execFileSync(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packages.map((name) => tarballs[name]!)],
      // A synchronous call blocks vitest's own hook timeout, so the install carries its own: npm retries an
      // unreachable registry (or one it cannot verify) for a long time instead of failing.
      { cwd: folder, stdio: ['ignore', 'ignore', 'pipe'], timeout: NPM_INSTALL_TIMEOUT_MS },
    );
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new Error(
      `npm install of the packed tarballs into ${folder} failed or took over ${NPM_INSTALL_TIMEOUT_MS / 1000} s ` +
        `(is the npm registry reachable, and its certificate trusted — NODE_EXTRA_CA_CERTS?): ${stderr.slice(-2000) || (error as Error).message}`,
    );
  }
  const cliPath = path.join(folder, 'node_modules', '@tasq', 'cluster', 'bin', 'tasq.js');
  return {
    folder,
    write(file, text) {
      writeFileSync(path.join(folder, file), text);
    },
    run(file, options = {}) {
      const result = spawnSync(process.execPath, [file], {
        cwd: options.cwd ?? folder,
        encoding: 'utf8',
        timeout: options.timeoutMs ?? 60_000,
        env: { ...process.env, ...options.env },
      });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    async startCluster(options = {}) {
      const child = spawn(process.execPath, [cliPath, 'cluster', '--log-format', 'json'], {
        cwd: options.cwd ?? folder,
        env: { ...process.env, ...options.env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let log = '';
      child.stderr.on('data', (chunk) => (log += chunk));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const started = Date.now();
      while (!log.includes('"cluster running"')) {
        if (child.exitCode !== null || Date.now() - started > 30_000) {
          child.kill('SIGKILL');
          throw new Error(`tasq cluster did not start:\n${log}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return {
        log: () => log,
        stop: async () => {
          child.kill('SIGTERM');
          return exited;
        },
      };
    },
  };
}

/**
 * tsc from this workspace, with @types/node from it, over files of a consumer app: checks only, or
 * compiles when `outDir` is among the options. Returns what tsc printed (nothing when all is well).
 */
export function typeCheck(folder: string, files: string[], compilerOptions: Record<string, string>): string {
  const workspaceModules = path.resolve(import.meta.dirname, '../../../node_modules');
  const flags = Object.entries(compilerOptions).flatMap(([key, value]) => [`--${key}`, value]);
  const result = spawnSync(
    process.execPath,
    [
      path.join(workspaceModules, 'typescript', 'bin', 'tsc'),
      ...('outDir' in compilerOptions ? [] : ['--noEmit']),
      '--strict',
      '--skipLibCheck',
      '--typeRoots',
      path.join(workspaceModules, '@types'),
      '--types',
      'node',
      ...flags,
      ...files,
    ],
    { cwd: folder, encoding: 'utf8' },
  );
  return `${result.stdout}${result.stderr}`.trim();
}
