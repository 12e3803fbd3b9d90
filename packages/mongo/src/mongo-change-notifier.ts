/**
 * Wake-ups from a change stream. One stream per collection and process, shared by every waiter in it;
 * each change event names a key (a queue, a job id), and the waiters on that key wake. Waiters always
 * keep a poll as well, so a stream that is resuming after a failover, or one that failed for good,
 * costs latency and never a lost wake-up.
 */
import type { Clock, Logger } from '@tasq/core/backend';
import type { ChangeStream, Collection, Document } from 'mongodb';

/** Reads the key out of a change event; undefined means "could concern anyone": every waiter wakes. */
export type ChangeKey = (event: Document) => string | undefined;

/**
 * Longest wait for a new stream's cursor. The aggregate that opens it is one round trip; a server that
 * reports no resume token for an empty first batch (before 4.0.7) is only waited for this long.
 */
const STREAM_OPEN_WAIT_MS = 2000;

export class ChangeNotifier {
  private readonly waiters = new Map<string, Set<() => void>>();
  private stream: ChangeStream | undefined;
  private failed = false;
  private closed = false;

  constructor(
    private readonly collection: Collection,
    private readonly pipeline: Document[],
    private readonly keyOf: ChangeKey,
    private readonly logger: Logger,
  ) {}

  /** True while the stream is open and delivering events. */
  get active(): boolean {
    return this.stream !== undefined && !this.failed && !this.closed;
  }

  /**
   * Open the stream and wait until the server has opened its cursor (the driver reports the cursor's
   * first resume token): from then on no change is missed. Gives up waiting after
   * {@link STREAM_OPEN_WAIT_MS}, and never rejects: a stream that cannot be opened is logged, and waiters
   * poll instead.
   */
  async start(): Promise<void> {
    if (this.stream || this.closed) return;
    const stream = this.collection.watch(this.pipeline);
    this.stream = stream;
    let opened!: () => void;
    const ready = new Promise<void>((resolve) => {
      opened = resolve;
    });
    stream.once('resumeTokenChanged', () => opened());
    const timer = setTimeout(opened, STREAM_OPEN_WAIT_MS);
    void this.pump(stream).finally(opened);
    await ready;
    clearTimeout(timer);
  }

  private async pump(stream: ChangeStream): Promise<void> {
    try {
      // next() waits on the server (awaitData getMore) and resumes by itself after resumable errors
      // (failover, network blip); an error that reaches here means the driver gave up.
      for (;;) this.dispatch(this.keyOf(await stream.next()));
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.logger.warn(
      {
        collection: this.collection.collectionName,
        error: error instanceof Error ? error.message : String(error),
      },
      'mongo change stream stopped; falling back to polling',
    );
    this.dispatch(undefined);
    void this.stream?.close().catch(() => undefined);
  }

  /**
   * A promise that resolves at the next change for `key`, and a function to stop waiting. Register
   * before reading the collection, so a change that lands between the read and the wait is not missed.
   */
  next(key: string): { changed: Promise<void>; cancel: () => void } {
    let wake!: () => void;
    const changed = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let set = this.waiters.get(key);
    if (!set) {
      set = new Set();
      this.waiters.set(key, set);
    }
    set.add(wake);
    const cancel = () => {
      const current = this.waiters.get(key);
      if (!current) return;
      current.delete(wake);
      if (current.size === 0) this.waiters.delete(key);
    };
    return { changed, cancel };
  }

  /** Close the stream and wake every waiter. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.dispatch(undefined);
    const stream = this.stream;
    this.stream = undefined;
    if (stream) await stream.close().catch(() => undefined);
  }

  private dispatch(key: string | undefined): void {
    const keys = key === undefined ? [...this.waiters.keys()] : [key];
    for (const each of keys) {
      const set = this.waiters.get(each);
      if (!set) continue;
      this.waiters.delete(each);
      for (const wake of set) wake();
    }
  }
}

/**
 * Resolve after `ms` of `clock` time, or earlier when `changed` resolves or `signal` aborts. Never rejects.
 */
export async function sleepUntilChanged(
  clock: Clock,
  ms: number,
  changed: Promise<void> | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal?.aborted || ms <= 0) return;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const slept = clock.sleep(ms, stop.signal).catch(() => undefined);
    await (changed ? Promise.race([slept, changed]) : slept);
  } finally {
    stop.abort();
    signal?.removeEventListener('abort', onAbort);
  }
}
