/**
 * Handles an enqueue returns: on one job (its result, its stored outcome) and on a group (its members'
 * results in order). They read the result backend; nothing else of the client.
 */
import { durationMs } from './duration.js';
import { ResultTimeoutError, TaskFailedError } from './errors.js';
import type { ResultBackend, TaskResult } from './result-backend.js';

/** Where a handle reads results, and the deployment a timeout's message names. */
export interface ResultSource {
  readonly results: ResultBackend;
  readonly config: { readonly name: string };
}

/** A handle on one job: wait for its result. */
export class Job<R = unknown> {
  constructor(
    private readonly tasq: ResultSource,
    readonly id: string,
    readonly name: string,
    /** The queue it was sent to, when this handle comes from the enqueue (for the timeout's message). */
    readonly queue?: string,
  ) {}

  /**
   * The task's return value. Throws TaskFailedError when the task failed, ResultTimeoutError when no
   * result arrived in time (default 30 s).
   */
  async result(options: { timeout?: number | string } = {}): Promise<R> {
    // A number here is milliseconds, as in `job.result({ timeout: 5_000 })`; a string carries its unit.
    const timeout = options.timeout ?? 30_000;
    const timeoutMs = typeof timeout === 'number' ? timeout : durationMs(timeout, 'timeout');
    const outcome = await this.tasq.results.wait(this.id, timeoutMs);
    if (!outcome) {
      throw new ResultTimeoutError(this.id, timeoutMs, {
        deployment: this.tasq.config.name,
        queue: this.queue,
      });
    }
    if (outcome.status === 'failure') {
      throw new TaskFailedError(this.id, outcome.name, outcome.error ?? { name: 'Error', message: 'failed' });
    }
    return outcome.result as R;
  }

  /** The stored TaskResult, waiting up to `timeoutMs` (0: just look). */
  outcome(timeoutMs = 0): Promise<TaskResult | undefined> {
    return timeoutMs > 0 ? this.tasq.results.wait(this.id, timeoutMs) : this.tasq.results.get(this.id);
  }
}

/** A handle on a group: its members' results, in order. */
export class GroupHandle {
  constructor(
    private readonly tasq: ResultSource,
    readonly group: string,
    readonly ids: readonly string[],
    /** The members' queues, in member order, when this handle comes from the enqueue. */
    readonly queues: readonly string[] = [],
  ) {}

  /** Wait until every member has a result (timeout in ms, default 30 s); results in member order. */
  async results(options: { timeout?: number } = {}): Promise<TaskResult[]> {
    const timeoutMs = options.timeout ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const results: TaskResult[] = [];
    for (const [index, id] of this.ids.entries()) {
      const result = await this.tasq.results.wait(id, Math.max(0, deadline - Date.now()));
      if (!result) {
        const where = { deployment: this.tasq.config.name, queue: this.queues[index] };
        throw new ResultTimeoutError(id, timeoutMs, where);
      }
      results.push(result);
    }
    return results;
  }

  /** The members' return values, in order; throws TaskFailedError for the first failed member. */
  async values(options: { timeout?: number } = {}): Promise<unknown[]> {
    return (await this.results(options)).map((r) => {
      if (r.status === 'failure')
        throw new TaskFailedError(r.id, r.name, r.error ?? { name: 'Error', message: 'failed' });
      return r.result;
    });
  }
}
