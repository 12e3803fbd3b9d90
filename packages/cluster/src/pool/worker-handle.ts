/**
 * One worker as the sentinel sees it: a channel to send orders on, the runs it holds, and how it ended.
 * Three kinds: a child process (default), a worker thread, or inline (the sentinel's own event loop).
 */
import { type ChildProcess, execFile, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TaskRegistry } from '@tasq/core';
import { addedSentinelFlags } from '../sentinel-flags.js';
import type { FromWorker, ToWorker, WorkerSettings } from '../worker/protocol.js';
import { readyMessage, WorkerRuntime } from '../worker/worker-runtime.js';

export interface WorkerCallbacks {
  onMessage(message: FromWorker): void;
  onExit(code: number | null, signal: string | null): void;
}

export interface WorkerHandle {
  readonly kind: 'process' | 'thread' | 'inline';
  readonly pid: number | undefined;
  send(message: ToWorker): void;
  /** End it now (SIGKILL, terminate); `onExit` follows. */
  kill(): void;
  /** Resident memory now, read without the worker's help where the platform allows (Linux /proc). */
  sampleRssBytes(): number | undefined;
}

/** The compiled entry of a worker: next to this module when built, in dist/ when running from sources. */
function workerEntry(name: 'process-entry' | 'thread-entry'): string {
  const built = fileURLToPath(new URL(`../worker/${name}.js`, import.meta.url));
  if (existsSync(built)) return built;
  const fromSources = fileURLToPath(new URL(`../../dist/worker/${name}.js`, import.meta.url));
  if (existsSync(fromSources)) return fromSources;
  throw new Error(
    `worker entry ${name}.js not found (build @tasq/cluster first: pnpm --filter @tasq/cluster build)`,
  );
}

const PAGE_SIZE = 4096;

/**
 * The sentinel's own Node flags (without --inspect, and without those `tasq cluster` added for the
 * sentinel alone), plus a small young generation unless one is set.
 * Workers run many short tasks: V8's default semi-space grows to 16+ MB and stays there; 2 MB measured
 * a worker at c=1 peaking at 78 MB instead of 91 MB (c=50: 75 instead of 84) with no loss of
 * throughput (SQLite, 8,000 no-op jobs). `node --max-semi-space-size=16 tasq cluster` restores V8's own.
 */
export function defaultWorkerFlags(): string[] {
  // Flags `tasq cluster` gave its own sentinel (sentinel-flags.ts) are the sentinel's, not the workers'.
  const sentinelOnly = addedSentinelFlags();
  const inherited = process.execArgv.filter(
    (arg) => !arg.startsWith('--inspect') && !sentinelOnly.includes(arg),
  );
  const given = [...inherited, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((arg) => arg.startsWith('--max-semi-space-size'))) return inherited;
  return [...inherited, '--max-semi-space-size=2'];
}

export function spawnProcessWorker(
  settings: WorkerSettings,
  callbacks: WorkerCallbacks,
  options: { execArgv?: string[]; cpus?: number[] } = {},
): WorkerHandle {
  const child: ChildProcess = fork(workerEntry('process-entry'), [], {
    cwd: settings.cwd,
    env: { ...process.env, TASQ_WORKER_SETTINGS: JSON.stringify(settings) },
    execArgv: options.execArgv ?? defaultWorkerFlags(),
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('message', (message) => callbacks.onMessage(message as FromWorker));
  child.on('exit', (code, signal) => callbacks.onExit(code, signal));
  child.on('error', () => {
    // 'exit' follows a failed spawn or a failed kill; nothing else to do here.
  });
  if (options.cpus && options.cpus.length > 0 && child.pid !== undefined && process.platform === 'linux') {
    // taskset is util-linux; where it is missing the worker simply runs on every CPU.
    execFile('taskset', ['-pc', options.cpus.join(','), String(child.pid)], () => {});
  }
  return {
    kind: 'process',
    pid: child.pid,
    send(message) {
      if (child.connected) child.send(message);
    },
    kill() {
      child.kill('SIGKILL');
    },
    sampleRssBytes() {
      if (child.pid === undefined || process.platform !== 'linux') return undefined;
      try {
        const resident = Number(readFileSync(`/proc/${child.pid}/statm`, 'utf8').split(' ')[1]);
        return Number.isFinite(resident) ? resident * PAGE_SIZE : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export function spawnThreadWorker(
  settings: WorkerSettings,
  callbacks: WorkerCallbacks,
  options: { maxHeapMb?: number } = {},
): WorkerHandle {
  const worker = new Worker(workerEntry('thread-entry'), {
    workerData: settings,
    ...(options.maxHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } } : {}),
  });
  let exited = false;
  worker.on('message', (message) => callbacks.onMessage(message as FromWorker));
  worker.on('error', () => {
    // An uncaught error ends the thread; 'exit' reports it.
  });
  worker.on('exit', (code) => {
    exited = true;
    callbacks.onExit(code, null);
  });
  return {
    kind: 'thread',
    pid: undefined,
    send(message) {
      if (!exited) worker.postMessage(message);
    },
    kill() {
      void worker.terminate();
    },
    sampleRssBytes: () => undefined,
  };
}

/**
 * The inline "worker": tasks run on the sentinel's event loop (light I/O tasks, no process overhead).
 * A hard timeout cannot stop a task here: it is abandoned (its result ignored) and its slot freed.
 */
export function createInlineWorker(
  registry: TaskRegistry,
  settings: WorkerSettings,
  callbacks: WorkerCallbacks,
): WorkerHandle {
  let ended = false;
  const runtime = new WorkerRuntime(registry, settings, {
    send: (message) => {
      if (!ended) queueMicrotask(() => callbacks.onMessage(message));
    },
    exit: (code) => {
      if (ended) return;
      ended = true;
      queueMicrotask(() => callbacks.onExit(code, null));
    },
    rssBytes: () => process.memoryUsage.rss(),
  });
  queueMicrotask(() => callbacks.onMessage(readyMessage(registry)));
  return {
    kind: 'inline',
    pid: process.pid,
    send(message) {
      if (!ended) runtime.handle(message);
    },
    kill() {
      if (ended) return;
      ended = true;
      queueMicrotask(() => callbacks.onExit(null, 'SIGKILL'));
    },
    sampleRssBytes: () => undefined,
  };
}
