/**
 * `--autoscale min,max`: grow the pool while every worker is busy and packages wait, shrink it while
 * workers sit idle. One step per check (every second): growing takes two busy checks in a row, shrinking
 * five idle ones, so a short lull does not throw away workers that cost 0.2-0.4 s of CPU each to start.
 */
import type { Sentinel } from '../runtime/sentinel.js';

export interface AutoscaleRange {
  min: number;
  max: number;
}

export interface AutoscalerOptions {
  /** Default 1 s. */
  checkMs?: number;
  /** Busy checks in a row before growing. Default 2. */
  growAfter?: number;
  /** Idle checks in a row before shrinking. Default 5. */
  shrinkAfter?: number;
  /** Applies a decision. Default: `sentinel.resize`. */
  resize?: (size: number) => void;
}

export class Autoscaler {
  private timer: NodeJS.Timeout | undefined;
  private busyChecks = 0;
  private idleChecks = 0;

  constructor(
    private readonly sentinel: Sentinel,
    private readonly range: AutoscaleRange,
    private readonly options: AutoscalerOptions = {},
  ) {
    if (
      !Number.isInteger(range.min) ||
      !Number.isInteger(range.max) ||
      range.min < 1 ||
      range.max < range.min
    ) {
      throw new RangeError(`autoscale needs whole numbers 1 <= min <= max, got ${range.min},${range.max}`);
    }
  }

  start(): void {
    this.timer = setInterval(() => this.check(), this.options.checkMs ?? 1_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One decision: grow, shrink or stay. */
  check(): void {
    if (this.sentinel.isStopping) return;
    const size = this.sentinel.poolSize;
    const { buffered, running } = this.sentinel.heldCount();
    const capacity = size * this.sentinel.config.concurrency;
    const saturated = buffered > 0 && running >= capacity;
    const idleWorkers = size - Math.ceil(running / this.sentinel.config.concurrency);
    this.busyChecks = saturated ? this.busyChecks + 1 : 0;
    this.idleChecks = buffered === 0 && idleWorkers > 0 ? this.idleChecks + 1 : 0;
    let wanted = size;
    if (size < this.range.min) wanted = this.range.min;
    else if (size > this.range.max) wanted = this.range.max;
    else if (this.busyChecks >= (this.options.growAfter ?? 2) && size < this.range.max) wanted = size + 1;
    else if (this.idleChecks >= (this.options.shrinkAfter ?? 5) && size > this.range.min) wanted = size - 1;
    if (wanted === size) return;
    this.busyChecks = 0;
    this.idleChecks = 0;
    if (this.options.resize) this.options.resize(wanted);
    else this.sentinel.resize(wanted);
  }
}

/** Parse `min,max` (`2,8`). */
export function parseAutoscale(value: string): AutoscaleRange | undefined {
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (!match) return undefined;
  const range = { min: Number(match[1]), max: Number(match[2]) };
  return range.min >= 1 && range.max >= range.min ? range : undefined;
}
