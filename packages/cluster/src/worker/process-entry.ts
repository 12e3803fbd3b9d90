/**
 * A worker child process: started by the sentinel with `fork`, talks over its own IPC channel only.
 * Signals from the terminal (Ctrl-C reaches the whole process group) are ignored: the sentinel decides
 * when a worker stops.
 */
import { hideSqliteExperimentalWarning } from '../sqlite-warning.js';
import type { ToWorker, WorkerSettings } from './protocol.js';
import { loadTasks, readyMessage, WorkerRuntime } from './worker-runtime.js';

// Tasks that open SQLite (a client, a canvas) would print node:sqlite's warning from every worker.
hideSqliteExperimentalWarning();

process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

const settings = JSON.parse(process.env.TASQ_WORKER_SETTINGS ?? '{}') as WorkerSettings;
const send = (message: unknown) => {
  if (process.connected) process.send?.(message);
};

if (settings.exitWithParent) process.on('disconnect', () => process.exit(0));

try {
  const registry = await loadTasks(settings);
  const runtime = new WorkerRuntime(registry, settings, {
    send: (message) => {
      if (process.connected) process.send?.(message);
    },
    exit: (code) => {
      // Exit once the last messages are written to the channel.
      if (process.connected) process.disconnect();
      process.exitCode = code;
      setImmediate(() => process.exit(code));
    },
    rssBytes: () => process.memoryUsage.rss(),
  });
  process.on('message', (message: ToWorker) => runtime.handle(message));
  send(readyMessage(registry));
} catch (error) {
  send({ type: 'load-error', message: (error as Error).message });
  setTimeout(() => process.exit(1), 50);
}
