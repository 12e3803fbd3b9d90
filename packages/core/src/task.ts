/**
 * Tasks: functions registered under a stable name. The handler's parameter and return types travel to
 * the client, so `tasq.enqueue(add, 1, 2)` type-checks and `tasq.enqueue(add, '1')` does not.
 *
 * A handler receives the job's arguments followed by a TaskContext:
 *
 *   defineTask('reports.build', async (id: string, ctx: TaskContext) => { ctx.signal; ... })
 *
 * A handler with optional parameters should read the context with `currentTask()` instead, since the
 * context always comes right after the arguments actually given.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Duration } from './duration.js';
import { DuplicateTaskError, InvalidArgumentError, UnknownTaskError } from './errors.js';
import type { ProgressValue } from './admin/result-administration.js';
import type { Logger } from './logger.js';
import type { JobOptionsData, RetryPolicy, SignatureData } from './task-package.js';

/** What a running task can see and use. */
export interface TaskContext {
  readonly jobId: string;
  readonly name: string;
  readonly queue: string;
  /** Run of the task's own retry policy (1 = first). */
  readonly attempt: number;
  /** Broker deliveries of this package (1 = first; more after a crash or an expired lease). */
  readonly deliveries: number;
  readonly enqueuedAt: number;
  /**
   * Aborted at the soft timeout, on shutdown and when an operator cancels the job (the reason says
   * which): long tasks should watch it and clean up.
   */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /**
   * Report how far the job has got: a finite number or a plain JSON object of at most 1 KiB (anything
   * else throws InvalidArgumentError here). Only the latest value counts: calls are coalesced, so calling
   * it in a tight loop is cheap. It is published as a `task-progress` event and kept with the job
   * (`tasq job show`, `Administration.job(id).progress`) where the result backend keeps progress.
   */
  progress(value: ProgressValue): void;
}

/** Per-task defaults; each enqueue can override them. */
export interface TaskOptions {
  queue?: string;
  priority?: number;
  timeout?: Duration;
  softTimeout?: Duration;
  maxAttempts?: number;
  ackFailure?: boolean;
  saveResult?: boolean;
  retry?: RetryPolicy;
  /** Rate limit for this task across the deployment: "100/s". */
  rateLimit?: string;
  /** Default `expires` of its jobs: a job not started within this duration is not run. */
  expires?: Duration;
}

// Handler parameter lists are inferred from user code, so the constraint must accept any parameters.
type AnyHandler = (...args: any[]) => unknown;

/** The handler's parameters without a trailing TaskContext. */
export type TaskArguments<F extends AnyHandler> =
  Parameters<F> extends [...infer Rest, infer Last]
    ? [Last] extends [TaskContext]
      ? [TaskContext] extends [Last]
        ? Rest
        : Parameters<F>
      : Parameters<F>
    : Parameters<F>;

/** A parameter list without its first entry: what a chain link or chord callback is given up front. */
export type ParametersAfterFirst<A extends unknown[]> = A extends [unknown, ...infer Rest] ? Rest : A;

/** A registered task. `A` are its arguments, `R` what the handler resolves to. */
export interface Task<A extends unknown[] = unknown[], R = unknown> {
  readonly name: string;
  readonly options: TaskOptions;
  readonly handler: AnyHandler;
  /**
   * A signature: this task with (some of) its arguments, for chains, groups, chords and hooks. As a chain
   * link or a chord callback the task is called with the previous result (the members' results) first
   * and these arguments after it, so the arguments may also be the handler's parameters after the first.
   */
  s(...args: Partial<A>): Signature<R>;
  s(...args: Partial<ParametersAfterFirst<A>>): Signature<R>;
  /** Phantom members that carry the types; never set at run time. */
  readonly __arguments?: A;
  readonly __result?: R;
}

/** A task call not yet enqueued. Immutable: `with` returns a copy. */
export class Signature<R = unknown> {
  declare readonly __result?: R;
  constructor(
    readonly name: string,
    readonly args: readonly unknown[],
    readonly options: JobOptionsData = {},
  ) {}

  /** A copy with more options (queue, priority, timeout...). */
  with(options: JobOptionsData): Signature<R> {
    return new Signature<R>(this.name, this.args, { ...this.options, ...options });
  }

  toData(): SignatureData {
    return {
      name: this.name,
      args: [...this.args],
      ...(Object.keys(this.options).length ? { options: this.options } : {}),
    };
  }
}

const TASK_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$/;

/** The tasks one process can run. Workers look names up here; nothing is ever imported from a package. */
export class TaskRegistry {
  private readonly tasks = new Map<string, Task>();

  register(task: Task): void {
    const existing = this.tasks.get(task.name);
    if (existing && existing.handler !== task.handler) throw new DuplicateTaskError(task.name);
    this.tasks.set(task.name, task);
  }

  get(name: string): Task {
    const task = this.tasks.get(name);
    if (!task) throw new UnknownTaskError(name);
    return task;
  }

  has(name: string): boolean {
    return this.tasks.has(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }
}

/** The registry `defineTask` registers into, shared by the client and the worker runtime. */
export const defaultRegistry = new TaskRegistry();

export function defineTask<F extends AnyHandler>(
  name: string,
  handler: F,
): Task<TaskArguments<F>, Awaited<ReturnType<F>>>;
export function defineTask<F extends AnyHandler>(
  name: string,
  options: TaskOptions,
  handler: F,
): Task<TaskArguments<F>, Awaited<ReturnType<F>>>;
export function defineTask(
  name: string,
  optionsOrHandler: TaskOptions | AnyHandler,
  maybeHandler?: AnyHandler,
): Task {
  const handler = typeof optionsOrHandler === 'function' ? optionsOrHandler : maybeHandler;
  const options = typeof optionsOrHandler === 'function' ? {} : optionsOrHandler;
  if (typeof name !== 'string' || !TASK_NAME.test(name)) {
    throw new InvalidArgumentError(
      `invalid task name ${JSON.stringify(name)}: use letters, digits, "_", ".", ":" or "-" (up to 200)`,
    );
  }
  if (typeof handler !== 'function')
    throw new InvalidArgumentError(`task "${name}" needs a handler function`);
  // A handler first and options after would otherwise run with none of the options, silently.
  if (typeof optionsOrHandler === 'function' && maybeHandler !== undefined) {
    throw new InvalidArgumentError(
      `task "${name}": options go before the handler: defineTask(name, options, handler)`,
    );
  }
  const task: Task = {
    name,
    options: Object.freeze({ ...options }),
    handler,
    s: (...args: unknown[]) => new Signature(name, args),
  };
  defaultRegistry.register(task);
  return task;
}

const contextStorage = new AsyncLocalStorage<TaskContext>();

/** The context of the task running in this async scope, or undefined outside a task. */
export function currentTask(): TaskContext | undefined {
  return contextStorage.getStore();
}

/** Run `fn` with `context` as the current task context. */
export function runWithTaskContext<T>(context: TaskContext, fn: () => T): T {
  return contextStorage.run(context, fn);
}
