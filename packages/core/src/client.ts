/**
 * The application's side: `connect()` reads the configuration, opens the configured broker and result
 * backend, and returns a client that enqueues typed jobs and waits for their results.
 *
 *   const tasq = await connect();
 *   const job = await tasq.enqueue(add, 1, 2);
 *   const sum = await job.result({ timeout: 5_000 });
 */
import type { Clock } from './clock.js';
import { ClientRuntime } from './client-runtime.js';
import { loadConfig } from './config/load.js';
import { type ResolvedConfig, resolveConfig } from './config/resolve.js';
import type { TasqConfigInput } from './config/schema.js';
import {
  checkArguments,
  type EnqueueJobOptions,
  fromJobOptions,
  toJobOptions,
  withTaskDefaults,
} from './enqueue-options.js';
import { InvalidArgumentError } from './errors.js';
import { uuidv7 } from './ids.js';
import { GroupHandle, Job } from './job-handle.js';
import type { Logger } from './logger.js';
import type { TaskResult } from './result-backend.js';
import { defineSchedule, type ScheduleOptions } from './schedule/schedule-definition.js';
import type { ScheduleRecord } from './schedule-store.js';
import type { Signature, Task, TaskRegistry } from './task.js';
import type { SignatureData } from './task-package.js';

export type { EnqueueJobOptions } from './enqueue-options.js';
export { GroupHandle, Job } from './job-handle.js';

export interface ConnectOptions {
  /** Configuration file (default: tasq.config.* in cwd), when no object is passed. */
  file?: string;
  cwd?: string;
  /** Alt cluster whose options apply. */
  cluster?: string;
  logger?: Logger;
  clock?: Clock;
  registry?: TaskRegistry;
}

/** Open a client: from the object given, or from the configuration file and environment. */
export async function connect(config?: TasqConfigInput, options: ConnectOptions = {}): Promise<Tasq> {
  const resolved =
    config === undefined
      ? await loadConfig({ file: options.file, cwd: options.cwd, cluster: options.cluster })
      : resolveConfig(config, { cluster: options.cluster });
  // Said where the application will see it: its logger, else a process warning (printed on stderr).
  for (const warning of resolved.warnings) {
    if (options.logger) options.logger.warn({}, warning);
    else process.emitWarning(warning, { code: 'TASQ_CONFIGURATION' });
  }
  return Tasq.open(resolved, options);
}

/**
 * The application's client: enqueue jobs, chains, groups and chords, wait for results, add schedules.
 * The connections it holds (broker, result backend, schedule store) are the runtime's business, kept
 * out of this surface.
 */
export class Tasq {
  readonly #runtime: ClientRuntime;

  private constructor(runtime: ClientRuntime) {
    this.#runtime = runtime;
    runtimes.set(this, runtime);
  }

  /** Open a client for an already resolved configuration (tools that resolved it themselves do this). */
  static async open(config: ResolvedConfig, options: ConnectOptions = {}): Promise<Tasq> {
    return new Tasq(await ClientRuntime.open(config, options));
  }

  /** The resolved configuration this client was opened with. */
  get config(): ResolvedConfig {
    return this.#runtime.config;
  }

  /** Enqueue one call of `task`. Arguments are type-checked against the task's handler. */
  enqueue<A extends unknown[], R>(task: Task<A, R>, ...args: A): Promise<Job<R>> {
    return this.enqueueWith(task, args, {});
  }

  /** Enqueue with options (queue, delay, priority, retry...). */
  async enqueueWith<A extends unknown[], R>(
    task: Task<A, R>,
    // NoInfer: the task alone decides the argument types, so `['1', 2]` for (a: number, b: number) is an error.
    args: NoInfer<A>,
    options: EnqueueJobOptions,
  ): Promise<Job<R>> {
    // Before the options are merged (and checked): a caller who swapped the two hears about the arguments.
    checkArguments(task.name, args);
    const [job] = await this.#runtime.send([
      this.#runtime.buildPackage({ name: task.name, args }, withTaskDefaults(task, options)),
    ]);
    return job as Job<R>;
  }

  /** Enqueue many calls of one task in as few broker calls as possible. */
  async enqueueMany<A extends unknown[], R>(
    task: Task<A, R>,
    argsList: readonly NoInfer<A>[],
    options: EnqueueJobOptions = {},
  ): Promise<Job<R>[]> {
    const merged = withTaskDefaults(task, options);
    if (options.id !== undefined)
      throw new InvalidArgumentError('enqueueMany cannot take one `id` for many jobs');
    return (await this.#runtime.send(
      argsList.map((args) => this.#runtime.buildPackage({ name: task.name, args }, merged)),
    )) as Job<R>[];
  }

  /** Enqueue by task name, without types: for tools, the CLI and other languages' producers. */
  async enqueueByName(
    name: string,
    args: readonly unknown[] = [],
    options: EnqueueJobOptions = {},
  ): Promise<Job<unknown>> {
    // Before the copy below: spreading a string would make a list of its characters.
    checkArguments(name, args);
    const [job] = await this.#runtime.send([
      this.#runtime.buildPackage({ name, args: [...args] }, this.#runtime.withDefaultsOfTask(name, options)),
    ]);
    return job!;
  }

  /** Enqueue a signature (`add.s(1, 2)`). */
  async enqueueSignature<R>(signature: Signature<R>, options: EnqueueJobOptions = {}): Promise<Job<R>> {
    const data = signature.toData();
    return (await this.enqueueByName(data.name, data.args, {
      ...fromJobOptions(data.options),
      ...options,
    })) as Job<R>;
  }

  /**
   * A chain: each job's result is prepended to the next one's arguments. The handle is the chain's: the
   * last link's job, whose result is the chain's result (typed as the last signature's); a link that
   * fails for good stops the chain and fails the handle with a ChainFailedError naming it. The enqueue
   * options apply to every link, except `delay`, `eta` and `id`, which apply to the first; with `group`,
   * every link joins the group, at its place in the chain.
   */
  chain<const S extends readonly Signature<any>[]>(
    signatures: S,
  ): { enqueue(options?: EnqueueJobOptions): Promise<Job<ChainResult<S>>> } {
    if (signatures.length === 0) throw new InvalidArgumentError('a chain needs at least one signature');
    return {
      enqueue: async (options = {}) => {
        const [first, ...rest] = signatures.map((s) => s.toData()) as [SignatureData, ...SignatureData[]];
        const pkg = this.#runtime.buildPackage(first, { ...this.#signatureOptions(first), ...options });
        const { group } = options;
        if (group !== undefined) pkg.groupIndex = 0;
        // Ids fixed now: the handle can follow the last link, and a link sent twice is enqueued once.
        const links = rest.map((link, index) => ({
          ...this.#carriedSignature(link, options),
          ...(group !== undefined ? { group, groupIndex: index + 1 } : {}),
        }));
        if (links.length > 0) pkg.chain = links;
        const [job] = await this.#runtime.send([pkg]);
        const last = links[links.length - 1];
        return (last ? new Job(this.#runtime, last.id, last.name, last.options?.queue) : job!) as Job<
          ChainResult<S>
        >;
      },
    };
  }

  /** A group: jobs run in parallel; their results are collected with `groupResults`. The enqueue options apply to each. */
  group(signatures: readonly Signature[]): { enqueue(options?: EnqueueJobOptions): Promise<GroupHandle> } {
    return {
      enqueue: async (options = {}) => {
        const group = options.group ?? uuidv7();
        const packages = signatures.map((signature, index) => {
          const data = signature.toData();
          const pkg = this.#runtime.buildPackage(data, {
            ...this.#signatureOptions(data),
            ...options,
            group,
          });
          pkg.groupIndex = index;
          return pkg;
        });
        await this.#runtime.send(packages);
        return new GroupHandle(
          this.#runtime,
          group,
          packages.map((p) => p.id),
          packages.map((p) => p.queue),
        );
      },
    };
  }

  /**
   * A chord: a group, then `callback` once with the list of the group's results. The enqueue options
   * apply to the members; the callback has its task's and its signature's (`sum.s().with({ queue })`).
   */
  chord<R>(
    signatures: readonly Signature<any>[],
    callback: Signature<R>,
  ): { enqueue(options?: EnqueueJobOptions): Promise<Job<R>> } {
    if (signatures.length === 0) throw new InvalidArgumentError('a chord needs at least one group member');
    return {
      enqueue: async (options = {}) => {
        const group = options.group ?? uuidv7();
        const callbackData = this.#carriedSignature(callback.toData(), {});
        const packages = signatures.map((signature, index) => {
          const data = signature.toData();
          const pkg = this.#runtime.buildPackage(data, {
            ...this.#signatureOptions(data),
            ...options,
            group,
          });
          pkg.groupIndex = index;
          pkg.chord = { callback: callbackData, size: signatures.length };
          return pkg;
        });
        await this.#runtime.send(packages);
        return new Job<R>(this.#runtime, callbackData.id, callbackData.name, callbackData.options?.queue);
      },
    };
  }

  /** A handle for a job enqueued earlier (by id). */
  job<R = unknown>(id: string, name = 'unknown'): Job<R> {
    return new Job<R>(this.#runtime, id, name);
  }

  /** Stored results of a group, in member order. */
  groupResults(group: string): Promise<TaskResult[]> {
    return this.#runtime.results.group(group);
  }

  /** A signature's own options over its task's, when this process knows the task. */
  #signatureOptions(data: SignatureData): EnqueueJobOptions {
    return this.#runtime.withDefaultsOfTask(data.name, fromJobOptions(data.options));
  }

  /**
   * A signature enqueued later by a cluster (a chain link, a chord callback), with its options settled
   * now: the task's, the signature's, then the caller's. The cluster that sends it may not know the task.
   * Its id is fixed too, so a handle can wait for it and a second send is dropped.
   */
  #carriedSignature(data: SignatureData, callOptions: EnqueueJobOptions): SignatureData & { id: string } {
    // When the canvas starts, and under which id and group, is the first jobs' business.
    const {
      delay: _delay,
      eta: _eta,
      id: _id,
      group: _group,
      ...travelling
    } = {
      ...this.#signatureOptions(data),
      ...callOptions,
    };
    // Where the link goes is settled here too: a cluster that sends it would otherwise use its own
    // default queue, and an alt cluster's is not the application's.
    const options = toJobOptions({ ...travelling, queue: travelling.queue ?? this.#runtime.config.queue });
    return {
      name: data.name,
      args: data.args,
      id: data.id ?? uuidv7(),
      ...(Object.keys(options).length > 0 ? { options } : {}),
    };
  }

  /**
   * Run `task` periodically: `tasq.schedule(report, ['weekly'], { cron: '0 8 * * mon', timeZone: 'Europe/Berlin' })`.
   * Stored data: every cluster's scheduler (one at a time, the leader) turns due slots into jobs.
   */
  async schedule<A extends unknown[], R>(
    task: Task<A, R> | string,
    args: A,
    options: ScheduleOptions,
  ): Promise<ScheduleRecord> {
    const name = typeof task === 'string' ? task : task.name;
    const record = defineSchedule(
      name,
      args,
      options,
      this.#runtime.clock.now(),
      this.#runtime.config.timeZone,
    );
    const store = await this.#runtime.schedules();
    if ((await store.list()).some((s) => s.name === record.name)) {
      throw new InvalidArgumentError(`a schedule named "${record.name}" already exists`);
    }
    await store.save(record);
    return record;
  }

  /** Close the client's connections. */
  close(): Promise<void> {
    return this.#runtime.close();
  }
}

/** Each client's runtime, for `runtimeServicesOf` (the cluster and @tasq/* tools), not on its surface. */
const runtimes = new WeakMap<Tasq, ClientRuntime>();

/** The runtime services a client is built on (shared connections: closing them closes the client). */
export function runtimeOfClient(tasq: Tasq): ClientRuntime {
  const runtime = runtimes.get(tasq);
  if (!runtime) throw new InvalidArgumentError('not a tasq client opened by connect() or Tasq.open()');
  return runtime;
}

/** The result type of a chain: its last signature's. */
export type ChainResult<S extends readonly Signature<any>[]> = S extends readonly [
  ...Signature<any>[],
  Signature<infer R>,
]
  ? R
  : S extends readonly Signature<infer R>[]
    ? R
    : unknown;
