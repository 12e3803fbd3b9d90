/**
 * The administration API's errors as answers: bad input 400, an unknown job 404, a job in the wrong
 * state (or a capability this broker lacks) 409, each with the API's own message, which names the job
 * and what to do instead. Anything else is left to the dashboard's 500.
 */
import { InvalidArgumentError, JobStateError, UnknownJobError, UnsupportedOperationError } from '@tasq/core';
import { HttpError } from '../http/errors.js';

export function asHttpError(error: unknown): unknown {
  if (error instanceof HttpError) return error;
  if (error instanceof InvalidArgumentError) return new HttpError(400, error.message);
  if (error instanceof UnknownJobError) return new HttpError(404, error.message);
  if (error instanceof JobStateError) return new HttpError(409, error.message);
  if (error instanceof UnsupportedOperationError) return new HttpError(409, error.message);
  return error;
}

/** Run an administration call with its errors turned into answers. */
export async function answering<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asHttpError(error);
  }
}
