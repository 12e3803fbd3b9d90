/**
 * The held-package ledger: every delivery this cluster holds, from reserve to settle, each with its lease
 * (see held-package.ts). It knows what waits for a worker (the buffer), what runs, what is being settled
 * and what a reserve in flight may still bring, and so how much room the fetcher has under `queueLimit`.
 */
import type { HeldPackage } from './held-package.js';
import type { HoldLimits } from './hold-ahead.js';

/** Packages being settled, as a multiple of queueLimit, past which fetching pauses. */
export const SETTLING_FACTOR = 4;

export class HeldLedger {
  /** Held and waiting for a worker, in arrival order. */
  readonly buffer: HeldPackage[] = [];
  private readonly held = new Set<HeldPackage>();
  private running = 0;
  /** Packages a reserve in flight may bring: counted against the room before they arrive. */
  private reserving = 0;
  private roomWaiter: (() => void) | undefined;

  private readonly limits: Pick<HoldLimits, 'queueLimit'>;

  /** `limits`: a fixed queueLimit, or the hold that follows the pace of the runs (hold-ahead.ts). */
  constructor(limits: number | Pick<HoldLimits, 'queueLimit'>) {
    this.limits = typeof limits === 'number' ? { queueLimit: limits } : limits;
  }

  /** Hold a package that is being settled without running (rejected at intake, released, dead-lettered). */
  hold(entry: HeldPackage): void {
    this.held.add(entry);
  }

  /** Hold a package that waits for a worker. */
  enqueue(entry: HeldPackage): void {
    this.held.add(entry);
    this.buffer.push(entry);
  }

  /** The package left the buffer for a worker. */
  started(entry: HeldPackage): void {
    entry.state = 'running';
    this.running++;
  }

  /** Its run is over (settling follows): room for one more. */
  runEnded(): void {
    this.running--;
    this.wake();
  }

  /** Settled: the package is no longer ours. */
  forget(entry: HeldPackage): void {
    if (this.held.delete(entry)) this.wake();
  }

  /** Everything held, whatever its state (the lease keeper extends them all). */
  all(): Iterable<HeldPackage> {
    return this.held;
  }

  reserveStarted(count: number): void {
    this.reserving += count;
  }

  reserveEnded(count: number): void {
    this.reserving -= count;
  }

  counts(): { buffered: number; running: number; total: number } {
    return { buffered: this.buffer.length, running: this.running, total: this.held.size };
  }

  /**
   * How many more packages the fetcher may reserve. `queueLimit` bounds what waits for a worker or runs;
   * packages being settled (saving, acking) do not count, so a slow result backend does not starve the
   * workers, but past SETTLING_FACTOR × queueLimit of them fetching pauses until they catch up.
   */
  room(): number {
    const settling = this.held.size - this.buffer.length - this.running;
    const queueLimit = this.limits.queueLimit;
    if (settling > Math.max(256, queueLimit * SETTLING_FACTOR)) return 0;
    return queueLimit - this.buffer.length - this.running - this.reserving;
  }

  /** Resolves at the next change that may make room (a run ended, a package settled, a stop). */
  whenRoomMayChange(): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.roomWaiter;
      this.roomWaiter = () => {
        previous?.();
        resolve();
      };
    });
  }

  wake(): void {
    const waiter = this.roomWaiter;
    this.roomWaiter = undefined;
    waiter?.();
  }
}
