/**
 * Errors the CLI reports as one line: a usage error exits 2, the job-administration refusals each their
 * own code (see ADMIN_EXIT_CODES), anything else 1.
 */
import { ConfigError, TasqError } from '@tasq/core';

/** Exit codes of the job-administration refusals, by the error's `code`. */
export const ADMIN_EXIT_CODES: Readonly<Record<string, number>> = Object.freeze({
  UNKNOWN_JOB: 3,
  UNSUPPORTED: 4,
  NOT_DEAD: 5,
  ALREADY_FINISHED: 6,
  WRONG_STATE: 7,
});

export const adminExitCodesHelp = `Exit codes: 0 done, 1 error, 2 bad usage, 3 unknown job id, 4 not supported by this broker or
result backend, 5 not a dead letter, 6 already finished, 7 not in a state this applies to.`;

export class UsageError extends Error {
  override name = 'UsageError';
}

export function oneLine(error: unknown): string {
  if (error instanceof ConfigError) return `invalid configuration: ${error.issues.join('; ')}`;
  if (error instanceof TasqError) return error.message.replace(/\s*\n\s*/g, ' ');
  if (error instanceof Error) return error.message.replace(/\s*\n\s*/g, ' ');
  return String(error);
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return 2;
  if (error instanceof TasqError) return ADMIN_EXIT_CODES[error.code] ?? 1;
  return 1;
}
