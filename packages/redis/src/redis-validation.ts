import { InvalidArgumentError, type PackageLabel, PackageTooLargeError } from '@tasq/core/backend';

/** Argument checks shared by the Redis classes: each throws `InvalidArgumentError` naming the value. */

export function checkInteger(name: string, value: unknown, minimum: number, maximum: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum || value > maximum) {
    throw new InvalidArgumentError(
      `${name} must be an integer from ${minimum} to ${maximum}, got ${String(value)}`,
    );
  }
  return value;
}

export function checkDuration(name: string, value: unknown, maximum: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > maximum) {
    throw new InvalidArgumentError(
      `${name} must be a number of milliseconds from 0 to ${maximum}, got ${String(value)}`,
    );
  }
  return Math.ceil(value);
}

export function checkBodies(bodies: unknown, maximumBytes: number): readonly Uint8Array[] {
  if (!Array.isArray(bodies)) {
    throw new InvalidArgumentError('enqueue bodies must be an array of Uint8Array');
  }
  bodies.forEach((body, index) => {
    if (!(body instanceof Uint8Array)) {
      throw new InvalidArgumentError(`enqueue body ${index} must be a Uint8Array, got ${typeof body}`);
    }
    if (body.byteLength > maximumBytes) {
      throw new PackageTooLargeError(body.byteLength, maximumBytes, 'redis');
    }
  });
  return bodies;
}

export function checkNonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${name} must be a non-empty string`);
  }
  return value;
}

/** A Buffer view of `bytes` without copying (ioredis sends Buffers as bulk strings, byte for byte). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Labels are optional; when given, one per body, each with a job id and a task name. */
export function checkLabels(labels: unknown, count: number): readonly PackageLabel[] | undefined {
  if (labels === undefined) return undefined;
  if (!Array.isArray(labels) || labels.length !== count) {
    throw new InvalidArgumentError('enqueue labels must be a list with one label per body');
  }
  for (const label of labels as PackageLabel[]) {
    if (typeof label?.jobId !== 'string' || typeof label.task !== 'string') {
      throw new InvalidArgumentError('each enqueue label needs a jobId and a task name (strings)');
    }
    if (label.expiresAt !== undefined && !Number.isFinite(label.expiresAt)) {
      throw new InvalidArgumentError(
        `enqueue label expiresAt must be epoch ms, got ${String(label.expiresAt)}`,
      );
    }
  }
  return labels as PackageLabel[];
}
