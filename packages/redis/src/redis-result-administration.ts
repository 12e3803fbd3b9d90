/**
 * The Redis result backend's administration capability: delete outcomes by id and a whole group (one
 * script each, index entries included), keep each job's latest progress in a string key beside its
 * outcome (`<prefix>:{results}:progress:<id>`), with the backend's time to live when it has one, and keep
 * the pause flags (a set) and cancel marks (a hash) of a broker that has no place for them (RabbitMQ,
 * SQS). Marks and flags have no time to live: they stay until cleared, like the broker's own would.
 */
import {
  type CancelMark,
  InvalidArgumentError,
  MAX_PROGRESS_BYTES,
  type ResultAdministration,
  type ResultAdministrationCapabilities,
  type StoredProgress,
} from '@tasq/core/backend';
import type { RedisClient } from './redis-connection.js';
import type { RedisCall } from './redis-errors.js';
import type { ResultKeys } from './redis-keys.js';
import { RedisMarks } from './redis-marks.js';
import { runScript } from './redis-scripts.js';
import { checkNonEmptyString } from './redis-validation.js';

export class RedisResultAdministration implements ResultAdministration {
  readonly capabilities: ResultAdministrationCapabilities = Object.freeze({
    delete: true,
    progress: true,
    marks: true,
  });

  private readonly marks: RedisMarks;

  constructor(
    private readonly client: RedisClient,
    private readonly withErrors: RedisCall,
    private readonly keys: ResultKeys,
    private readonly ttlMs: number,
    private readonly checkOpen: () => void,
  ) {
    this.marks = new RedisMarks(client, withErrors, keys, 'result');
  }

  async delete(ids: readonly string[]): Promise<number> {
    if (!Array.isArray(ids)) throw new InvalidArgumentError('delete takes a list of job ids');
    if (ids.length === 0) return 0;
    for (const id of ids) checkNonEmptyString('job id', id);
    this.checkOpen();
    return (await this.withErrors('result delete', () =>
      runScript(
        this.client,
        'tasqResultDelete',
        this.keys.statusIndex('success'),
        this.keys.base,
        'ids',
        ...new Set(ids),
      ),
    )) as number;
  }

  async deleteGroup(group: string): Promise<number> {
    checkNonEmptyString('group', group);
    this.checkOpen();
    return (await this.withErrors('result deleteGroup', () =>
      runScript(
        this.client,
        'tasqResultDelete',
        this.keys.statusIndex('success'),
        this.keys.base,
        'group',
        group,
      ),
    )) as number;
  }

  async saveProgress(id: string, progress: StoredProgress): Promise<void> {
    checkNonEmptyString('job id', id);
    const value = progress?.value;
    if (typeof value !== 'number' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new InvalidArgumentError('progress must be a number or an object');
    }
    if (typeof progress.at !== 'number' || !Number.isFinite(progress.at)) {
      throw new InvalidArgumentError('progress `at` must be epoch ms');
    }
    const stored = JSON.stringify({ value, at: progress.at });
    if (Buffer.byteLength(JSON.stringify(value)) > MAX_PROGRESS_BYTES) {
      throw new InvalidArgumentError(`progress must be at most ${MAX_PROGRESS_BYTES} bytes as JSON`);
    }
    this.checkOpen();
    const key = this.keys.progress(id);
    await this.withErrors('result saveProgress', () =>
      this.ttlMs > 0 ? this.client.set(key, stored, 'PX', this.ttlMs) : this.client.set(key, stored),
    );
  }

  async progress(id: string): Promise<StoredProgress | undefined> {
    checkNonEmptyString('job id', id);
    this.checkOpen();
    const stored = await this.withErrors('result progress', () => this.client.get(this.keys.progress(id)));
    return stored === null ? undefined : (JSON.parse(stored) as StoredProgress);
  }

  async setPaused(queue: string, paused: boolean): Promise<void> {
    checkNonEmptyString('queue', queue);
    if (typeof paused !== 'boolean') throw new InvalidArgumentError('setPaused takes true or false');
    this.checkOpen();
    await this.marks.setPaused(queue, paused);
  }

  async pausedQueues(): Promise<string[]> {
    this.checkOpen();
    return this.marks.pausedQueues();
  }

  async markCancelled(jobId: string, reason: string): Promise<void> {
    checkNonEmptyString('job id', jobId);
    this.checkOpen();
    await this.marks.markCancelled(jobId, reason, Date.now());
  }

  async cancelMarks(jobIds: readonly string[]): Promise<CancelMark[]> {
    if (!Array.isArray(jobIds)) throw new InvalidArgumentError('cancelMarks takes a list of job ids');
    for (const id of jobIds) checkNonEmptyString('job id', id);
    if (jobIds.length > 0) this.checkOpen();
    return this.marks.cancelMarks(jobIds);
  }

  async clearCancelMarks(jobIds: readonly string[]): Promise<number> {
    if (!Array.isArray(jobIds)) throw new InvalidArgumentError('clearCancelMarks takes a list of job ids');
    for (const id of jobIds) checkNonEmptyString('job id', id);
    if (jobIds.length > 0) this.checkOpen();
    return this.marks.clearCancelMarks(jobIds);
  }
}
