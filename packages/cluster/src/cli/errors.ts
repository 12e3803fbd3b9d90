/** Errors the CLI reports as one line: a usage error exits 2, anything else 1. */
import { ConfigError, TasqError } from '@tasq/core';

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
  return error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
}
