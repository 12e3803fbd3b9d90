/**
 * The Redis result backend's administration capability: delete outcomes by id and a whole group (one
 * script each, index entries included), and keep each job's latest progress in a string key beside its
 * outcome (`<prefix>:{results}:progress:<id>`), with the backend's time to live when it has one.
 */
import {
  InvalidArgumentError,
  MAX_PROGRESS_BYTES,
  type ResultAdministration,
  type ResultAdministrationCapabilities,
  type StoredProgress,
} from '@tasq/core/backend';
import type { RedisClient } from './redis-connection.js';
import type { RedisCall } from './redis-errors.js';
import type { ResultKeys } from './redis-keys.js';
import { runScript } from './redis-scripts.js';
import { checkNonEmptyString } from './redis-validation.js';

export class RedisResultAdministration implements ResultAdministration {
  readonly capabilities: ResultAdministrationCapabilities = Object.freeze({ delete: true, progress: true });

  constructor(
    private readonly client: RedisClient,
    private readonly withErrors: RedisCall,
    private readonly keys: ResultKeys,
    private readonly ttlMs: number,
    private readonly checkOpen: () => void,
  ) {}

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
}
