/**
 * The MongoDB result backend's administration capability: delete outcomes by id and by group (the
 * group through its index), and keep each job's latest progress in a collection of its own, expiring
 * with the backend's `cached` time to live when it has one.
 */
import {
  type Clock,
  InvalidArgumentError,
  MAX_PROGRESS_BYTES,
  type ResultAdministration,
  type ResultAdministrationCapabilities,
  type StoredProgress,
} from '@tasq/core/backend';
import type { Collection } from 'mongodb';
import type { ResultDocument } from './mongo-documents.js';
import { mapDriverErrors } from './mongo-errors.js';

/** A job's latest progress; `_id` is the job id. */
export interface ProgressDocument {
  _id: string;
  /** JSON text of the value (a number or a small object), so any key survives BSON's field-name rules. */
  value: string;
  at: number;
  expiresAt?: Date;
}

export class MongoResultAdministration implements ResultAdministration {
  readonly capabilities: ResultAdministrationCapabilities = Object.freeze({ delete: true, progress: true });

  constructor(
    private readonly results: Collection<ResultDocument>,
    private readonly progressDocuments: Collection<ProgressDocument>,
    private readonly clock: Clock,
    private readonly cachedSeconds: number | undefined,
    private readonly checkOpen: () => void,
  ) {}

  async delete(ids: readonly string[]): Promise<number> {
    if (!Array.isArray(ids)) throw new InvalidArgumentError('delete takes a list of job ids');
    if (ids.length === 0) return 0;
    this.checkOpen();
    const list = [...new Set(ids)];
    await mapDriverErrors('delete progress', () => this.progressDocuments.deleteMany({ _id: { $in: list } }));
    const outcome = await mapDriverErrors('delete results', () =>
      this.results.deleteMany({ _id: { $in: list } }),
    );
    return outcome.deletedCount;
  }

  async deleteGroup(group: string): Promise<number> {
    if (typeof group !== 'string' || group === '') throw new InvalidArgumentError('a group name is needed');
    this.checkOpen();
    const members = await mapDriverErrors(`read group ${group}`, () =>
      this.results.find({ group }, { projection: { _id: 1 } }).toArray(),
    );
    if (members.length === 0) return 0;
    return this.delete(members.map((member) => member._id));
  }

  async saveProgress(id: string, progress: StoredProgress): Promise<void> {
    if (typeof id !== 'string' || id === '') throw new InvalidArgumentError('a job id is needed');
    const value = progress?.value;
    if (typeof value !== 'number' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new InvalidArgumentError('progress must be a number or an object');
    }
    const text = JSON.stringify(value);
    if (Buffer.byteLength(text) > MAX_PROGRESS_BYTES) {
      throw new InvalidArgumentError(`progress must be at most ${MAX_PROGRESS_BYTES} bytes as JSON`);
    }
    if (typeof progress.at !== 'number' || !Number.isFinite(progress.at)) {
      throw new InvalidArgumentError('progress `at` must be epoch ms');
    }
    this.checkOpen();
    const document: Omit<ProgressDocument, '_id'> = { value: text, at: progress.at };
    if (this.cachedSeconds !== undefined) {
      document.expiresAt = new Date(this.clock.now() + this.cachedSeconds * 1000);
    }
    await mapDriverErrors(`save the progress of job ${id}`, () =>
      this.progressDocuments.replaceOne({ _id: id }, document, { upsert: true }),
    );
  }

  async progress(id: string): Promise<StoredProgress | undefined> {
    if (typeof id !== 'string' || id === '') throw new InvalidArgumentError('a job id is needed');
    this.checkOpen();
    const document = await mapDriverErrors(`read the progress of job ${id}`, () =>
      this.progressDocuments.findOne({ _id: id }),
    );
    if (!document) return undefined;
    if (document.expiresAt && document.expiresAt.getTime() <= this.clock.now()) return undefined;
    return { value: JSON.parse(document.value) as StoredProgress['value'], at: document.at };
  }
}
