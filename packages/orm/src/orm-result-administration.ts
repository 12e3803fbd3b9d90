/**
 * The SQL result backend's administration capability: delete outcomes by id and by group (one statement
 * each, the group by its index), keep each job's latest progress in the `progress` table, and keep the
 * pause flags and cancel marks of a broker that has no place for them (RabbitMQ, SQS) in the tables the
 * SQL broker keeps its own in.
 */
import {
  type CancelMark,
  type Clock,
  InvalidArgumentError,
  type ResultAdministration,
  type ResultAdministrationCapabilities,
  type StoredProgress,
} from '@tasq/core/backend';
import type { Parameters, SqlDialect } from './dialect.js';
import { mapDatabaseError } from './orm-errors.js';
import { OrmMarks } from './orm-marks.js';
import type { QueryName } from './queries.js';
import { decodeStored, encodeStored } from './stored-value.js';

export class OrmResultAdministration implements ResultAdministration {
  readonly capabilities: ResultAdministrationCapabilities = Object.freeze({
    delete: true,
    progress: true,
    marks: true,
  });
  private readonly marks: OrmMarks;

  constructor(
    private readonly dialect: SqlDialect,
    private readonly assertOpen: () => void,
    readonly clock: Clock,
  ) {
    this.marks = new OrmMarks(dialect, clock, (query, parameters, what) => this.run(query, parameters, what));
  }

  async delete(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const list = JSON.stringify([...new Set(ids)]);
    await this.run('progress-delete', { ids: list }, 'delete progress');
    return (await this.run('result-delete', { ids: list }, 'delete results')).rowCount;
  }

  async deleteGroup(group: string): Promise<number> {
    if (typeof group !== 'string' || group === '') throw new InvalidArgumentError('a group name is needed');
    const { rows } = await this.run(
      'result-delete-group',
      { group },
      `delete the results of group "${group}"`,
    );
    if (rows.length > 0) {
      await this.run(
        'progress-delete',
        { ids: JSON.stringify(rows.map((row) => String(row.id))) },
        'delete progress',
      );
    }
    return rows.length;
  }

  async saveProgress(id: string, progress: StoredProgress): Promise<void> {
    await this.run(
      'progress-save',
      { job_id: id, value: encodeStored(progress.value) ?? 'null', at: progress.at },
      `save the progress of job ${id}`,
    );
  }

  async progress(id: string): Promise<StoredProgress | undefined> {
    const { rows } = await this.run('progress-get', { job_id: id }, `read the progress of job ${id}`);
    const row = rows[0];
    if (!row) return undefined;
    return { value: decodeStored(row.value) as StoredProgress['value'], at: Number(row.reported_at) };
  }

  setPaused(queue: string, paused: boolean): Promise<void> {
    return this.marks.setPaused(queue, paused);
  }

  pausedQueues(): Promise<string[]> {
    return this.marks.pausedQueues();
  }

  markCancelled(jobId: string, reason: string): Promise<void> {
    return this.marks.markCancelled(jobId, reason);
  }

  cancelMarks(jobIds: readonly string[]): Promise<CancelMark[]> {
    return this.marks.cancelMarks(jobIds);
  }

  clearCancelMarks(jobIds: readonly string[]): Promise<number> {
    return this.marks.clearCancelMarks(jobIds);
  }

  private async run(query: QueryName, parameters: Parameters, what: string) {
    this.assertOpen();
    try {
      return await this.dialect.execute(query, parameters);
    } catch (error) {
      throw mapDatabaseError(error, what, this.dialect.address);
    }
  }
}
