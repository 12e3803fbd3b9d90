/**
 * A job's progress on its way from a task to the result backend: the check every value passes where
 * `ctx.progress` is called (so a bad value fails the task at that line, with a clear error), and the
 * buffer that keeps only the latest value per job and hands values on at most every `intervalMs`, so a
 * task reporting in a tight loop costs a map write per call, not a message or a store.
 */
import { InvalidArgumentError } from '../errors.js';
import { MAX_PROGRESS_BYTES, type ProgressValue } from './result-administration.js';

/** Progress is a finite number or a plain JSON object of at most 1 KiB. */
export function checkProgress(value: unknown): asserts value is ProgressValue {
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new InvalidArgumentError(`progress must be a finite number, got ${value}`);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(
      `progress must be a number or a plain object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  let text: string;
  try {
    text = JSON.stringify(value, (key, inner: unknown) => {
      const kind = typeof inner;
      if (kind === 'bigint' || kind === 'function' || kind === 'symbol' || kind === 'undefined') {
        throw new InvalidArgumentError(
          `progress must be plain JSON: ${key === '' ? 'the value' : `"${key}"`} is a ${kind}`,
        );
      }
      if (kind === 'number' && !Number.isFinite(inner as number)) {
        throw new InvalidArgumentError(`progress must be plain JSON: "${key}" is ${String(inner)}`);
      }
      return inner;
    });
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(`progress must be plain JSON: ${(error as Error).message}`);
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_PROGRESS_BYTES) {
    throw new InvalidArgumentError(
      `progress must be at most ${MAX_PROGRESS_BYTES} bytes as JSON, got ${bytes}`,
    );
  }
}

/** How often buffered progress is handed on by default. */
export const PROGRESS_FLUSH_MS = 250;

/**
 * The latest progress per key, handed to `flush` at most every `intervalMs` (a trailing timer: the first
 * report after a quiet spell waits for it) and at once by `flushNow` (a run's end).
 */
export class ProgressBuffer<K> {
  private readonly latest = new Map<K, ProgressValue>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly flush: (entries: Array<[K, ProgressValue]>) => void,
    private readonly intervalMs = PROGRESS_FLUSH_MS,
  ) {}

  report(key: K, value: ProgressValue): void {
    this.latest.set(key, value);
    if (this.timer) return;
    this.timer = setTimeout(() => this.flushNow(), this.intervalMs);
    this.timer.unref?.();
  }

  /** Hand on everything buffered now (called when a run ends, so its last value is not left behind). */
  flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.latest.size === 0) return;
    const entries = [...this.latest];
    this.latest.clear();
    this.flush(entries);
  }
}
