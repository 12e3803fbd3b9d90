/**
 * Pause flags and cancel marks in Redis: a set of paused queue names and a hash of job id → mark (reason
 * and time, JSON). The broker's administration keeps them under its admin keys; the result backend's
 * under `{results}`, for a broker that keeps none (RabbitMQ, SQS). Both go through this; each checks its
 * own input first.
 */
import type { CancelMark } from '@tasq/core/backend';
import type { RedisClient } from './redis-connection.js';
import type { RedisCall } from './redis-errors.js';

export class RedisMarks {
  /** `operation`: how calls are named in errors (`admin`, `result`). */
  constructor(
    private readonly client: RedisClient,
    private readonly withErrors: RedisCall,
    private readonly keys: { readonly paused: string; readonly cancelMarks: string },
    private readonly operation: string,
  ) {}

  async setPaused(queue: string, paused: boolean): Promise<void> {
    await this.withErrors(`${this.operation} setPaused`, () =>
      paused ? this.client.sadd(this.keys.paused, queue) : this.client.srem(this.keys.paused, queue),
    );
  }

  pausedQueues(): Promise<string[]> {
    return this.withErrors(`${this.operation} pausedQueues`, () => this.client.smembers(this.keys.paused));
  }

  async markCancelled(jobId: string, reason: string, at: number): Promise<void> {
    const mark = JSON.stringify({ reason: String(reason), at });
    // HSETNX: a second mark keeps the first reason.
    await this.withErrors(`${this.operation} markCancelled`, () =>
      this.client.hsetnx(this.keys.cancelMarks, jobId, mark),
    );
  }

  /** The marks among `jobIds` (each id once), in one read. */
  async cancelMarks(jobIds: readonly string[]): Promise<CancelMark[]> {
    if (jobIds.length === 0) return [];
    const ids = [...new Set(jobIds)];
    const values = await this.withErrors(`${this.operation} cancelMarks`, () =>
      this.client.hmget(this.keys.cancelMarks, ...ids),
    );
    return ids.flatMap((jobId, index) => {
      const value = values[index];
      if (value === null || value === undefined) return [];
      const { reason, at } = JSON.parse(value) as { reason: string; at: number };
      return [{ jobId, reason, at }];
    });
  }

  clearCancelMarks(jobIds: readonly string[]): Promise<number> {
    if (jobIds.length === 0) return Promise.resolve(0);
    return this.withErrors(`${this.operation} clearCancelMarks`, () =>
      this.client.hdel(this.keys.cancelMarks, ...new Set(jobIds)),
    );
  }
}
