/**
 * In-process wake-ups for idle waiters: a `reserve` waiting on a queue, a result `wait` on a job id.
 * PostgreSQL feeds it from LISTEN/NOTIFY; SQLite from writes made in this process. A signal that
 * arrives while its subscriber is busy (between two claims) is remembered, so it is never lost.
 */
import type { Clock } from '@tasq/core/backend';

export interface Wakeup {
  /**
   * Resolve when a signal arrived since the previous call, or after `timeoutMs` of the clock's time, or
   * when `signal` aborts, whichever comes first. Never rejects.
   */
  wait(timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** Stop receiving signals. */
  close(): void;
}

class Subscription implements Wakeup {
  private pending = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onClose: (subscription: Subscription) => void,
  ) {}

  notify(): void {
    if (this.wake) this.wake();
    else this.pending = true;
  }

  wait(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.pending || signal.aborted) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = new AbortController();
      const done = () => {
        this.wake = undefined;
        signal.removeEventListener('abort', done);
        timer.abort();
        resolve();
      };
      this.wake = done;
      signal.addEventListener('abort', done, { once: true });
      this.clock.sleep(Math.max(0, timeoutMs), timer.signal).then(done, () => {});
    });
  }

  close(): void {
    this.wake?.();
    this.onClose(this);
  }
}

/** Subscribers by topic (a channel name) and key (a queue name, a job id). */
export class WakeupHub {
  private readonly subscribers = new Map<string, Set<Subscription>>();

  constructor(private readonly clock: Clock) {}

  subscribe(topic: string, key: string): Wakeup {
    const slot = `${topic}\u0000${key}`;
    let set = this.subscribers.get(slot);
    if (!set) {
      set = new Set();
      this.subscribers.set(slot, set);
    }
    const subscription = new Subscription(this.clock, (closed) => {
      const current = this.subscribers.get(slot);
      current?.delete(closed);
      if (current?.size === 0) this.subscribers.delete(slot);
    });
    set.add(subscription);
    return subscription;
  }

  /** True while anyone waits. */
  hasSubscribers(): boolean {
    return this.subscribers.size > 0;
  }

  /** Wake every subscriber of `topic`/`key`. */
  signal(topic: string, key: string): void {
    const set = this.subscribers.get(`${topic}\u0000${key}`);
    if (set) for (const subscription of set) subscription.notify();
  }

  /** Wake everyone (after a reconnect, when notifications may have been missed). */
  signalAll(): void {
    for (const set of this.subscribers.values()) for (const subscription of set) subscription.notify();
  }
}
