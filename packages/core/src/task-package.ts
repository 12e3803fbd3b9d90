/**
 * The task package: one call of a task, as it travels through a broker. Plain data only; the runtime
 * looks the task up by `name` in its registry and never imports or evaluates anything from a package.
 */
import { PackageRejectedError } from './errors.js';
import { FrameCodec, type FrameCodecOptions } from './codec/package-codec.js';
import { type JobOptionsData, NUMERIC_OPTION_FIELDS } from './job-options.js';

export type { JobOptionsData, RetryPolicy } from './job-options.js';

/** A task call that has not been enqueued yet: what chains, groups, chords and hooks are made of. */
export interface SignatureData {
  /** Fixed job id (a chord callback's is chosen when the chord is built, so clients can wait for it). */
  id?: string;
  name: string;
  args: unknown[];
  options?: JobOptionsData;
  /** The group this job joins when it is sent (a chain enqueued with `group` puts every link in it). */
  group?: string;
  /** Its place in that group's results (a chain link's: its place in the chain). */
  groupIndex?: number;
}

export interface TaskPackage extends JobOptionsData {
  id: string;
  name: string;
  args: unknown[];
  queue: string;
  /** Epoch ms when the client enqueued it (the first time, for retries of the same job). */
  enqueuedAt: number;
  /** Epoch ms before which it must not run (delay/eta); a consumer that gets it earlier re-delays it. */
  eta?: number;
  /** Run of the task's own retry policy this package is (1 = first). Broker redeliveries are counted separately. */
  attempt?: number;
  group?: string;
  groupIndex?: number;
  /** Jobs still to run after this one; this job's result is prepended to the next one's arguments. */
  chain?: SignatureData[];
  /** Set on group members of a chord: the callback to run once all `size` members have finished. */
  chord?: { callback: SignatureData; size: number };
  /** W3C trace context, so a trace continues from enqueue into the task. */
  traceparent?: string;
  /** The job whose completion enqueued this one (chains, hooks, chords). */
  parentId?: string;
  /** Epoch ms after which the job must not start: it is stored as expired instead. */
  expiresAt?: number;
}

/** Structural check of a decoded package: the codec proved who sent it, this proves it is usable. */
export function assertTaskPackage(value: unknown): asserts value is TaskPackage {
  const problem = describeProblem(value);
  if (problem) throw new PackageRejectedError('invalid-package', problem);
}

function describeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'payload is not an object';
  const pkg = value as Record<string, unknown>;
  if (typeof pkg.id !== 'string' || pkg.id.length === 0) return '`id` is missing';
  if (typeof pkg.name !== 'string' || pkg.name.length === 0) return '`name` is missing';
  if (!Array.isArray(pkg.args)) return '`args` is not a list';
  if (typeof pkg.queue !== 'string') return '`queue` is missing';
  if (typeof pkg.enqueuedAt !== 'number') return '`enqueuedAt` is missing';
  for (const key of ['eta', 'attempt', 'expiresAt', ...NUMERIC_OPTION_FIELDS] as const) {
    if (pkg[key] !== undefined && typeof pkg[key] !== 'number') return `\`${key}\` is not a number`;
  }
  return undefined;
}

/** Encode and decode task packages in signed frames. */
export class TaskPackageCodec {
  private readonly frames: FrameCodec;

  constructor(options: FrameCodecOptions) {
    this.frames = new FrameCodec(options);
  }

  encode(pkg: TaskPackage): Uint8Array {
    return this.frames.encode(pkg);
  }

  /** Throws PackageRejectedError (bad signature, truncated, unknown format/serializer/compressor, invalid). */
  decode(bytes: Uint8Array): TaskPackage {
    const value = this.frames.decode(bytes);
    assertTaskPackage(value);
    return value;
  }
}
