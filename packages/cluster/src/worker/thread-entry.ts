/** A worker thread (`pool: 'thread'`): the same runtime as a child process, over the thread's port. */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { hideSqliteExperimentalWarning } from '../sqlite-warning.js';
import type { ToWorker, WorkerSettings } from './protocol.js';
import { loadTasks, readyMessage, WorkerRuntime } from './worker-runtime.js';

// Tasks that open SQLite (a client, a canvas) would print node:sqlite's warning from every worker.
hideSqliteExperimentalWarning();

const settings = workerData as WorkerSettings;
const port = parentPort!;

try {
  const registry = await loadTasks(settings);
  const runtime = new WorkerRuntime(registry, settings, {
    send: (message) => port.postMessage(message),
    exit: (code) => {
      port.close();
      process.exit(code);
    },
    // Threads share the process's RSS; what one thread owns is its V8 heap.
    rssBytes: () => getHeapStatistics().used_heap_size,
  });
  port.on('message', (message: ToWorker) => runtime.handle(message));
  port.postMessage(readyMessage(registry));
} catch (error) {
  port.postMessage({ type: 'load-error', message: (error as Error).message });
  process.exit(1);
}
