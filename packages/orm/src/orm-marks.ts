/**
 * Pause flags (`queue_flags`) and cancel marks (`cancel_marks`) in the SQL schema. The SQL broker keeps
 * its own here; the SQL result backend keeps them here too for a broker that has no place for them
 * (RabbitMQ, SQS), since both share one schema and its migrations. One statement per call.
 */
import { type CancelMark, type Clock, checkText, InvalidArgumentError } from '@tasq/core/backend';
import type { Parameters, QueryOutcome, SqlDialect } from './dialect.js';
import type { QueryName } from './queries.js';

/** Runs one named statement, mapping a database error to what was being done. */
export type RunStatement = (query: QueryName, parameters: Parameters, what: string) => Promise<QueryOutcome>;

export class OrmMarks {
  constructor(
    private readonly dialect: Pick<SqlDialect, 'kind'>,
    private readonly clock: Clock,
    private readonly run: RunStatement,
  ) {}

  async setPaused(queue: string, paused: boolean): Promise<void> {
    checkText('queue', queue);
    if (typeof paused !== 'boolean') throw new InvalidArgumentError('setPaused takes true or false');
    await this.run(
      'admin-set-paused',
      { queue, paused: this.dialect.kind === 'postgres' ? paused : paused ? 1 : 0, now: this.clock.now() },
      `${paused ? 'pause' : 'resume'} queue "${queue}"`,
    );
  }

  async pausedQueues(): Promise<string[]> {
    const { rows } = await this.run('admin-paused-queues', {}, 'read the paused queues');
    return rows.map((row) => String(row.queue));
  }

  async markCancelled(jobId: string, reason: string): Promise<void> {
    checkText('jobId', jobId);
    await this.run(
      'admin-mark-cancelled',
      { job_id: jobId, reason: String(reason), now: this.clock.now() },
      `mark job ${jobId} cancelled`,
    );
  }

  async cancelMarks(jobIds: readonly string[]): Promise<CancelMark[]> {
    if (!Array.isArray(jobIds)) throw new InvalidArgumentError('cancelMarks takes a list of job ids');
    if (jobIds.length === 0) return [];
    const { rows } = await this.run(
      'admin-cancel-marks',
      { ids: JSON.stringify([...new Set(jobIds)]) },
      'read cancel marks',
    );
    return rows.map((row) => ({
      jobId: String(row.job_id),
      reason: String(row.reason),
      at: Number(row.marked_at),
    }));
  }

  async clearCancelMarks(jobIds: readonly string[]): Promise<number> {
    if (!Array.isArray(jobIds)) throw new InvalidArgumentError('clearCancelMarks takes a list of job ids');
    if (jobIds.length === 0) return 0;
    const ids = JSON.stringify([...new Set(jobIds)]);
    return (await this.run('admin-clear-cancel-marks', { ids }, 'clear cancel marks')).rowCount;
  }
}
