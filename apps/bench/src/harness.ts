/**
 * The benchmark harness: what a suite receives and returns, and the statistics every table uses.
 * A suite is a module in `src/suites/` exporting `suite: BenchSuite`; `main.ts` finds it by file.
 */

/** What a suite is given. */
export interface BenchContext {
  /** The workload size the run asked for (`--n`); a suite scales its operations from it. */
  n: number;
  /** How many times each measurement is repeated (`--rounds`); one value per round in each row. */
  rounds: number;
  /** A progress line, printed as the suite runs. */
  log(line: string): void;
}

/** One measured figure of one system: a value per round. */
export interface BenchRow {
  suite: string;
  /** What was measured: "tasq-orm postgres", "pg-boss 12"... */
  system: string;
  /** "enqueue one-by-one", "wake-up latency p99"... */
  metric: string;
  /** "ops/s", "ms"... */
  unit: string;
  /** One value per round. */
  values: number[];
  notes?: string;
}

export interface BenchSuite {
  name: string;
  description: string;
  /**
   * The `--n` and `--rounds` this suite runs with when the command line gives none (default 20,000 and
   * 3): a suite whose figure is one long run (cluster-memory) needs other sizes than one of many short ones.
   */
  defaults?: { n?: number; rounds?: number };
  run(context: BenchContext): Promise<BenchRow[]>;
}

/** Median, minimum and maximum of the rounds. An empty list gives NaN everywhere. */
export function summarize(values: number[]): { median: number; min: number; max: number } {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/**
 * The `p`-th percentile (0..100) of `values` by the nearest-rank method: the smallest value with at
 * least p% of the values at or below it. NaN for an empty list.
 */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be between 0 and 100, got ${p}`);
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** The spread of the rounds relative to their median, as a percentage ((max - min) / median). */
export function spreadPercent(values: number[]): number {
  const { median, min, max } = summarize(values);
  return median === 0 ? 0 : ((max - min) / Math.abs(median)) * 100;
}

/** A figure with three significant digits and thousands separators ("12,300", "4.56", "0.0123"). */
export function formatFigure(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A plain-text table: one line per row, columns padded to their widest cell. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join(' | ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('-|-'), ...rows.map(line)].join('\n');
}

/** The table `main` prints for a suite's rows. */
export function formatRows(rows: BenchRow[]): string {
  return formatTable(
    ['system', 'metric', 'median (min–max)', 'spread'],
    rows.map((row) => {
      const { median, min, max } = summarize(row.values);
      return [
        row.system,
        row.metric,
        `${formatFigure(median)} ${row.unit} (${formatFigure(min)}–${formatFigure(max)})`,
        `${spreadPercent(row.values).toFixed(0)}%`,
      ];
    }),
  );
}
