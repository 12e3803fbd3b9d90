/**
 * What runs inside a worker, whatever carries its messages (a child process, a thread, or the sentinel
 * itself for the inline pool): import the task modules, run orders, report results in batches.
 */
import type { Logger, Task, TaskRegistry } from '@tasq/core';
import {
  defaultRegistry,
  importFromApplication,
  ProgressBuffer,
  runInTaskSpan,
  runTask,
  toErrorInfo,
} from '@tasq/core/internal';
import { runDefaultsOf, type TaskRunDefaults } from '../runtime/task-run-defaults.js';
import type { FromWorker, RunDone, RunOrder, ToWorker, WorkerSettings } from './protocol.js';

/** Import the configured task modules and register every task they export. */
export async function loadTasks(settings: Pick<WorkerSettings, 'tasks' | 'cwd'>): Promise<TaskRegistry> {
  for (const specifier of settings.tasks) {
    let module: Record<string, unknown>;
    try {
      module = await importFromApplication(specifier, settings.cwd);
    } catch (error) {
      throw new Error(`cannot import tasks module "${specifier}": ${(error as Error).message}`, {
        cause: error,
      });
    }
    // defineTask registers into the @tasq/core instance the module imported; when the application has its
    // own copy of core, the exported tasks are registered here too.
    for (const value of Object.values(module)) if (isTask(value)) defaultRegistry.register(value);
  }
  return defaultRegistry;
}

function isTask(value: unknown): value is Task {
  const task = value as Task;
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof task.name === 'string' &&
    typeof task.handler === 'function' &&
    typeof task.s === 'function'
  );
}

/**
 * What a worker says once its tasks are imported: their names, and each task's own `rateLimit` and run
 * settings (timeouts, attempts, retry...), which the sentinel applies to packages that leave them out.
 */
export function readyMessage(registry: TaskRegistry): Extract<FromWorker, { type: 'ready' }> {
  const rateLimits: Record<string, string> = {};
  const runDefaults: Record<string, TaskRunDefaults> = {};
  for (const name of registry.names()) {
    const { options } = registry.get(name);
    if (options.rateLimit !== undefined) rateLimits[name] = options.rateLimit;
    const defaults = runDefaultsOf(options);
    if (defaults) runDefaults[name] = defaults;
  }
  return { type: 'ready', tasks: registry.names(), rateLimits, runDefaults };
}

export interface WorkerChannel {
  send(message: FromWorker): void;
  /** Exit the worker (a process or thread exits; the inline worker reports its end). */
  exit(code: number): void;
  rssBytes(): number;
}

/**
 * How stale the memory figure a `done` carries may be when no `maxRss` is set (it is then only shown).
 * Reading it (`process.memoryUsage.rss()`, a read of /proc on Linux) costs about 10 µs, which at
 * concurrency 1 was paid on every job. With `maxRss` (memory sampled: `sampleMs` > 0) every `done` reads
 * it afresh, since the guard retires a worker above the limit between runs by that figure.
 */
const RSS_REFRESH_MS = 100;

/** Serves orders for one worker. */
export class WorkerRuntime {
  private readonly running = new Map<number, AbortController>();
  /** Runs sent ahead while every slot was busy: each starts, in order, as a run ends. */
  private readonly waiting: RunOrder[] = [];
  private pending: RunDone[] = [];
  private flushScheduled = false;
  private tasksDone = 0;
  private retiring = false;
  private sampler: NodeJS.Timeout | undefined;
  private rssBytes = 0;
  private rssReadAt = Number.NEGATIVE_INFINITY;
  private readonly logger: Logger;
  /** The latest progress of each run, sent to the sentinel at most every ~250 ms. */
  private readonly progress: ProgressBuffer<number>;

  constructor(
    private readonly registry: TaskRegistry,
    private readonly settings: WorkerSettings,
    private readonly channel: WorkerChannel,
  ) {
    const log =
      (level: 'debug' | 'info' | 'warn' | 'error') =>
      (fields: object, message?: string): void => {
        const extra = message !== undefined ? { message } : {};
        try {
          channel.send({ type: 'log', level, fields: { ...fields }, ...extra });
        } catch {
          // A field that cannot cross the channel (a function, a socket) must not fail the task.
          channel.send({ type: 'log', level, fields: plainFields(fields), ...extra });
        }
      };
    this.logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
    this.progress = new ProgressBuffer((entries) =>
      channel.send({ type: 'progress', items: entries.map(([runId, value]) => ({ runId, value })) }),
    );
  }

  handle(message: ToWorker): void {
    switch (message.type) {
      case 'run':
        for (const order of message.runs) {
          if (this.running.size < (this.settings.concurrency ?? Number.POSITIVE_INFINITY)) this.run(order);
          else this.waiting.push(order);
        }
        break;
      case 'abort':
        if (!this.dropWaiting(message.runId, message.reason))
          this.running.get(message.runId)?.abort(new Error(message.reason));
        break;
      case 'retire':
        this.retiring = true;
        this.exitIfIdle();
        break;
    }
  }

  private run(order: RunOrder): void {
    const { runId } = order;
    const controller = new AbortController();
    this.running.set(runId, controller);
    this.startSampling();
    // With @opentelemetry/api installed, the run is a span continuing the trace of whoever enqueued it.
    void runInTaskSpan(order.pkg, order.deliveries, () =>
      runTask(this.registry, order.pkg, {
        deliveries: order.deliveries,
        signal: controller.signal,
        logger: this.logger,
        progress: (value) => this.progress.report(runId, value),
      }),
    ).then((outcome) => {
      this.running.delete(runId);
      this.tasksDone++;
      this.pending.push({ runId, outcome });
      // The slot goes to the run that waited longest; the sentinel, reading this run's `done`, knows it began.
      const next = this.waiting.shift();
      if (next) this.run(next);
      this.scheduleFlush();
    });
  }

  /** A run aborted before it started: it never starts, and ends as a failure naming the abort. */
  private dropWaiting(runId: number, reason: string): boolean {
    const index = this.waiting.findIndex((order) => order.runId === runId);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    const now = Date.now();
    this.pending.push({
      runId,
      outcome: {
        status: 'failure',
        error: { name: 'AbortError', message: reason },
        startedAt: now,
        stoppedAt: now,
      },
    });
    this.scheduleFlush();
    return true;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // One message for every run that finished in this turn of the event loop: at concurrency 50 this
    // cuts the messages per task well below one.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const items = this.pending;
    this.pending = [];
    if (items.length === 0) return;
    // A finished run's last progress goes first: the sentinel drops progress of runs it has settled.
    this.progress.flushNow();
    const rssBytes = this.recentRss();
    try {
      this.channel.send({ type: 'done', items, tasksDone: this.tasksDone, rssBytes });
    } catch {
      // Some result in the batch cannot be cloned (a function, a socket...): send them one by one and
      // turn the ones that fail into failures that say why.
      for (const item of items) {
        try {
          this.channel.send({ type: 'done', items: [item], tasksDone: this.tasksDone, rssBytes });
        } catch (error) {
          const { startedAt, stoppedAt } = item.outcome;
          this.channel.send({
            type: 'done',
            items: [
              {
                runId: item.runId,
                outcome: {
                  status: 'failure',
                  error: toErrorInfo(
                    new TypeError(`the task's return value cannot be sent back: ${(error as Error).message}`),
                  ),
                  startedAt,
                  stoppedAt,
                },
              },
            ],
            tasksDone: this.tasksDone,
            rssBytes,
          });
        }
      }
    }
    if (this.running.size === 0) this.stopSampling();
    this.exitIfIdle();
  }

  private recentRss(): number {
    const now = Date.now();
    if (this.settings.sampleMs > 0 || now - this.rssReadAt >= RSS_REFRESH_MS) {
      this.rssBytes = this.channel.rssBytes();
      this.rssReadAt = now;
    }
    return this.rssBytes;
  }

  private startSampling(): void {
    if (this.sampler || this.settings.sampleMs <= 0) return;
    this.sampler = setInterval(() => {
      this.channel.send({ type: 'memory', rssBytes: this.channel.rssBytes() });
    }, this.settings.sampleMs);
    this.sampler.unref();
  }

  private stopSampling(): void {
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = undefined;
  }

  private exitIfIdle(): void {
    if (this.retiring && this.running.size === 0 && this.waiting.length === 0 && this.pending.length === 0) {
      this.stopSampling();
      this.channel.exit(0);
    }
  }
}

function plainFields(fields: object): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) plain[key] = { name: value.name, message: value.message };
    else if (typeof value === 'object' && value !== null) plain[key] = String(value);
    else if (typeof value === 'function' || typeof value === 'symbol') plain[key] = String(value);
    else plain[key] = value;
  }
  return plain;
}
