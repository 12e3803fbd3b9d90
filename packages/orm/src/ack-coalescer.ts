/**
 * Gathers the acks made in one turn of the event loop into one database call. A runtime settling a
 * finished batch calls `ack` fifty times in a row; on PostgreSQL that becomes one statement and one
 * commit (one WAL flush) instead of fifty, on SQLite one transaction. A lone ack waits only for the
 * current turn to end (`setImmediate`), microseconds next to its round trip.
 */

export interface SettledLease {
  id: string;
  token: string;
}

interface PendingAck extends SettledLease {
  resolve(deleted: boolean): void;
  reject(error: unknown): void;
}

/** Most acks per statement, so one array parameter stays small. */
const maxPerCall = 1_000;

export function leaseKey(lease: SettledLease): string {
  return `${lease.id}\u0000${lease.token}`;
}

export class AckCoalescer {
  private pending: PendingAck[] = [];
  private scheduled = false;
  private readonly inFlight = new Set<Promise<void>>();

  /** `deleteLeases` deletes the rows whose (id, token) still match and returns their `leaseKey`s. */
  constructor(private readonly deleteLeases: (leases: SettledLease[]) => Promise<Set<string>>) {}

  /** Resolves true when this lease's row was deleted, false when the lease had moved on. */
  ack(lease: SettledLease): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ ...lease, resolve, reject });
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
      const call = this.deleteLeases(batch.map(({ id, token }) => ({ id, token }))).then(
        (deleted) => {
          // The same delivery acked twice in one turn: the first call wins, the second lost its lease.
          const granted = new Set<string>();
          for (const pending of batch) {
            const key = leaseKey(pending);
            const won = deleted.has(key) && !granted.has(key);
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
