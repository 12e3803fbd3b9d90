/**
 * Gathers the acks (or the releases) made in one turn of the event loop into one database call. A
 * runtime settling a finished batch calls `ack` fifty times in a row; on PostgreSQL that becomes one
 * statement and one commit (one WAL flush) instead of fifty, on SQLite one transaction. Releases matter
 * the same way at a stop, when every prefetched package goes back at once: on PostgreSQL each release
 * notifies, and PostgreSQL writes notifying commits one after another, so a batch is one such commit
 * instead of hundreds. A lone call waits only for the current turn to end (`setImmediate`),
 * microseconds next to its round trip.
 */

export interface SettledLease {
  id: string;
  token: string;
}

interface Pending<Lease extends SettledLease> {
  lease: Lease;
  resolve(settled: boolean): void;
  reject(error: unknown): void;
}

/** Most leases per statement, so one array parameter stays small. */
const maxPerCall = 1_000;

export function leaseKey(lease: SettledLease): string {
  return `${lease.id}\u0000${lease.token}`;
}

export class SettleCoalescer<Lease extends SettledLease = SettledLease> {
  private pending: Pending<Lease>[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * `settleLeases` settles the rows whose (id, token) still match, all in one commit, and returns their
   * `leaseKey`s. It receives each lease once: of two calls for one lease in a turn, the first is sent.
   */
  constructor(private readonly settleLeases: (leases: Lease[]) => Promise<Set<string>>) {}

  /** Resolves true when this lease's row was settled, false when the lease had moved on. */
  settle(lease: Lease): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ lease, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, maxPerCall);
      const unique = new Map<string, Lease>();
      for (const { lease } of batch) if (!unique.has(leaseKey(lease))) unique.set(leaseKey(lease), lease);
      const call = this.settleLeases([...unique.values()]).then(
        (settled) => {
          // The same delivery settled twice in one turn: the first call wins, the second lost its lease.
          const granted = new Set<string>();
          for (const pending of batch) {
            const key = leaseKey(pending.lease);
            const won = settled.has(key) && !granted.has(key);
            if (won) granted.add(key);
            pending.resolve(won);
          }
        },
        (error: unknown) => {
          for (const pending of batch) pending.reject(error);
        },
      );
      this.inFlight.add(call);
      call.finally(() => this.inFlight.delete(call));
    }
  }

  /** Send what is pending now and wait for every call in flight (before the connection closes). */
  async drain(): Promise<void> {
    if (this.pending.length > 0) this.flush();
    await Promise.all([...this.inFlight]);
  }
}
