/**
 * Retrying a broker call while the broker cannot be reached. A `BrokerConnectionError` is the one error
 * a second try can cure (the driver reconnects meanwhile); any other error is thrown at once.
 */
import { BrokerConnectionError } from './errors.js';

export interface RetryWhileUnreachableOptions {
  /** How long to wait before each further try; one try more than there are pauses. */
  pausesMs: readonly number[];
  /** Waits a pause (a clock's sleep in tests that move time by hand). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Told of each failed try that will be tried again. */
  onRetry?: (error: BrokerConnectionError, attempt: number) => void;
}

export async function retryWhileUnreachable<T>(
  call: () => Promise<T>,
  options: RetryWhileUnreachableOptions,
): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const pause = options.pausesMs[attempt - 1];
      if (!(error instanceof BrokerConnectionError) || pause === undefined) throw error;
      options.onRetry?.(error, attempt);
      await sleep(pause);
    }
  }
}
