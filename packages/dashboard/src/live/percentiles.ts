/**
 * Per-second samples of wait and run times: a bounded reservoir (every value equally likely to be kept),
 * so a second with 20,000 jobs costs the same memory as one with 2,000.
 */
export class Reservoir {
  private values: number[] = [];
  private seen = 0;

  constructor(private readonly size = 2_000) {}

  add(value: number): void {
    this.seen++;
    if (this.values.length < this.size) this.values.push(value);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.size) this.values[slot] = value;
    }
  }

  get count(): number {
    return this.seen;
  }

  /** The p-th percentiles (0-100) of what was kept; null when nothing was. */
  percentiles(ps: readonly number[]): (number | null)[] {
    if (this.values.length === 0) return ps.map(() => null);
    const sorted = [...this.values].sort((a, b) => a - b);
    return ps.map(
      (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null,
    );
  }
}
