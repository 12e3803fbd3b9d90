/** Failure reports as the cluster builds them, and a logger that remembers what it was told. */
import type { Logger, TaskFailureReport } from '@tasq/core';

/** Throws a real TypeError so the report carries a real V8 stack, then keeps only its data. */
function chargeCard(): never {
  throw new TypeError('card declined for order 4411');
}

export function remoteError(): { name: string; message: string; stack?: string } {
  try {
    chargeCard();
  } catch (error) {
    const { name, message, stack } = error as Error;
    return stack === undefined ? { name, message } : { name, message, stack };
  }
}

export function failureReport(overrides: Partial<TaskFailureReport> = {}): TaskFailureReport {
  const startedAt = Date.UTC(2026, 10, 21, 9, 30, 0);
  return {
    task: 'billing.charge',
    jobId: '0193a8f0-0000-7000-8000-000000000001',
    queue: 'payments',
    attempt: 2,
    final: false,
    error: remoteError(),
    cluster: 'eu-1',
    startedAt,
    stoppedAt: startedAt + 1250,
    ...overrides,
  };
}

export interface RecordingLogger extends Logger {
  records: { level: string; fields: object; message: string | undefined }[];
}

export function recordingLogger(): RecordingLogger {
  const records: RecordingLogger['records'] = [];
  const record = (level: string) => (fields: object, message?: string) => {
    records.push({ level, fields, message });
  };
  return {
    records,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}
