/**
 * The errors of the administration API. Each has a stable `code` (the CLI maps each to its own exit
 * code), and a message that names the job and what to do instead.
 */
import { TasqError } from '../errors.js';
import type { JobState } from './job-view.js';

/** No source knows this job id. */
export class UnknownJobError extends TasqError {
  readonly jobId: string;
  constructor(jobId: string, detail = '') {
    super('UNKNOWN_JOB', `no job ${jobId} is known to the broker or the result backend${detail}`);
    this.jobId = jobId;
  }
}

/** The broker or result backend in use cannot do this (a capability it does not declare). */
export class UnsupportedOperationError extends TasqError {
  constructor(message: string) {
    super('UNSUPPORTED', message);
  }
}

/** The operation does not apply to a job in its current state (requeue a job that is not dead...). */
export class JobStateError extends TasqError {
  readonly jobId: string;
  readonly state: JobState;
  constructor(
    code: 'NOT_DEAD' | 'ALREADY_FINISHED' | 'WRONG_STATE',
    jobId: string,
    state: JobState,
    message: string,
  ) {
    super(code, message);
    this.jobId = jobId;
    this.state = state;
  }
}
