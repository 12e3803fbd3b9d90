import type { TaskResult } from '@tasq/core';
import { encodeStoredValue } from '@tasq/core/backend';

/**
 * For a success whose value cannot be encoded as results are stored, the failure to store instead;
 * undefined when the value is not the problem. Asked only after a save failed, so runs that save pay nothing.
 */
export function unstorableValue(result: TaskResult): TaskResult | undefined {
  if (result.status !== 'success') return undefined;
  try {
    encodeStoredValue(result.result);
    return undefined;
  } catch (error) {
    const { result: _unstorable, ...rest } = result;
    return {
      ...rest,
      status: 'failure',
      error: {
        name: 'UnstorableResultError',
        message: `the task's return value cannot be stored: ${(error as Error).message}`,
      },
    };
  }
}
