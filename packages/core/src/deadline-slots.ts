/**
 * Deadlines for many concurrent calls on few timers. A cluster settles thousands of deliveries a second,
 * each through a call with a deadline; a timer per call (setTimeout, then clearTimeout) cost more than the
 * call's own bookkeeping. Calls are grouped by the slot of `granularityMs` their deadline falls in; one
 * timer per slot rejects whatever of it is still pending, and is cleared when the slot empties first.
 * A deadline may therefore fire up to one slot late, never early.
 */
interface Waiting {
  expire(): void;
}

interface Slot {
  waiting: Set<Waiting>;
  timer: NodeJS.Timeout;
}

export class DeadlineSlots {
  private readonly slots = new Map<number, Slot>();

  constructor(private readonly granularityMs = 25) {}

  /** Settle as `work` does, or reject with `expired()` once `deadlineMs` have passed without an answer. */
  race<T>(deadlineMs: number, work: Promise<T>, expired: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const key = Math.ceil((Date.now() + deadlineMs) / this.granularityMs);
      let slot = this.slots.get(key);
      if (!slot) {
        const waiting = new Set<Waiting>();
        const timer = setTimeout(() => this.expire(key), key * this.granularityMs - Date.now());
        slot = { waiting, timer };
        this.slots.set(key, slot);
      }
      const entry: Waiting = { expire: () => reject(expired()) };
      const own = slot;
      own.waiting.add(entry);
      const done = () => {
        own.waiting.delete(entry);
        // The last call of a slot that has not fired yet takes its timer with it.
        if (own.waiting.size === 0 && this.slots.get(key) === own) {
          clearTimeout(own.timer);
          this.slots.delete(key);
        }
      };
      work.then(
        (value) => {
          done();
          resolve(value);
        },
        (error: unknown) => {
          done();
          reject(error);
        },
      );
    });
  }

  private expire(key: number): void {
    const slot = this.slots.get(key);
    if (!slot) return;
    this.slots.delete(key);
    for (const entry of slot.waiting) entry.expire();
  }
}
