/**
 * The application's side: `connect()` reads the configuration, opens the configured broker and result
 * backend, and returns a client that enqueues typed jobs and waits for their results.
 *
 *   const tasq = await connect();
 *   const job = await tasq.enqueue(add, 1, 2);
 *   const sum = await job.result({ timeout: 5_000 });
 */
import { packageLabel } from './admin/package-label.js';
import { BrokerClient } from './broker-client.js';
import { type CanvasFailure, type FollowUp, followUps } from './canvas.js';
import { endChordHold } from './chord.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { loadConfig } from './config/load.js';
import { currentTraceparent } from './trace-context.js';
import { type ResolvedConfig, resolveConfig } from './config/resolve.js';
import type { TasqConfigInput } from './config/schema.js';
import { type Duration, durationMs } from './duration.js';
import { InvalidArgumentError, ResultTimeoutError, TaskFailedError } from './errors.js';
import { executeTask, toErrorInfo } from './execute.js';
import { ProgressBuffer } from './admin/progress.js';
import type { ProgressValue } from './admin/result-administration.js';
import { jobOptionFields, jobOptionsOf, taskDefaultOptions } from './job-options.js';
import { decideOutcome, maxAttemptsOf } from './lifecycle/decide.js';
import type { RuntimeServices } from './runtime-services.js';
import { uuidv7 } from './ids.js';
import { createBroker, createResultBackend, loadResultBackendModule, pluginContext } from './load-plugin.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { type BrokerPlugin, isBrokerPlugin, type PluginContext } from './plugin.js';
import type { ResultBackend, TaskResult } from './result-backend.js';
import { retryWhileUnreachable } from './retry-unreachable.js';
import { defineSchedule, type ScheduleOptions } from './schedule/schedule-definition.js';
import { Scheduler, type SchedulerOptions } from './schedule/scheduler.js';
import type { RateLimiter } from './rate-limiter.js';
import type { ScheduleRecord, ScheduleStore } from './schedule-store.js';
import { defaultRegistry, type Signature, type Task, type TaskRegistry } from './task.js';
import {
  type JobOptionsData,
  type RetryPolicy,
  type SignatureData,
  type TaskPackage,
  TaskPackageCodec,
} from './task-package.js';

/** Options every enqueue takes. */
export interface EnqueueJobOptions {
  queue?: string;
  /** Run no sooner than this from now. */
  delay?: Duration;
  /** Run no sooner than this time. */
  eta?: Date | number;
  /** 0-9, higher first (brokers with priorities only). */
  priority?: number;
  /** Put the job in a group; `tasq.groupResults(group)` collects the results. */
  group?: string;
  /** A task run with this job's TaskResult when it finishes. */
  hook?: Task<any, any> | string;
  timeout?: Duration;
  softTimeout?: Duration;
  maxAttempts?: number;
  ackFailure?: boolean;
  saveResult?: boolean;
  retry?: RetryPolicy;
  /** Job id, used as an idempotency key: a second enqueue with the same id is not sent again. */
  id?: string;
  /** Not started by then (a date, or a duration from now): not run, stored as expired. */
  expires?: Date | Duration;
}

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

export class Tasq implements RuntimeServices {
  readonly config: ResolvedConfig;
  readonly broker: BrokerClient;
  readonly results: ResultBackend;
  readonly codec: TaskPackageCodec;
  readonly registry: TaskRegistry;
  readonly logger: Logger;
  readonly clock: Clock;
  private closed = false;
  private readonly plugin: BrokerPlugin;
  private readonly context: PluginContext;
  private scheduleStore: Promise<ScheduleStore> | undefined;
  private sharedRateLimiter: Promise<RateLimiter | undefined> | undefined;
  private readonly cwd: string | undefined;

  private constructor(
    config: ResolvedConfig,
    broker: BrokerClient,
    results: ResultBackend,
    options: ConnectOptions,
    plugin: BrokerPlugin,
    context: PluginContext,
  ) {
    this.plugin = plugin;
    this.context = context;
    this.config = config;
    this.broker = broker;
    this.results = results;
    this.registry = options.registry ?? defaultRegistry;
    this.cwd = options.cwd;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.codec = new TaskPackageCodec({
      secret: config.secrets,
      serializer: config.serializer,
      compress: config.compress === false ? false : config.compress,
    });
  }

  /** Open a client for an already resolved configuration (the cluster runtime does this). */
  static async open(config: ResolvedConfig, options: ConnectOptions = {}): Promise<Tasq> {
    const context = pluginContext(config.name, options.logger, options.clock, config.cachedSeconds);
    const { broker, plugin } = await createBroker(config.broker, context, options.cwd);
    let results: ResultBackend;
    try {
      results = await createResultBackend(
        config.resultBackend,
        plugin,
        config.broker.options,
        context,
        options.cwd,
      );
    } catch (error) {
      await broker.close();
      throw error;
    }
    return new Tasq(
      config,
      new BrokerClient(broker, { callTimeoutMs: config.callTimeoutMs }),
      results,
      options,
      plugin,
      context,
    );
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
    const [job] = await this.send([
      this.buildPackage({ name: task.name, args }, withTaskDefaults(task, options)),
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
    return (await this.send(
      argsList.map((args) => this.buildPackage({ name: task.name, args }, merged)),
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
    const [job] = await this.send([
      this.buildPackage({ name, args: [...args] }, this.withDefaultsOfTask(name, options)),
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
        const pkg = this.buildPackage(first, { ...this.signatureOptions(first), ...options });
        const { group } = options;
        if (group !== undefined) pkg.groupIndex = 0;
        // Ids fixed now: the handle can follow the last link, and a link sent twice is enqueued once.
        const links = rest.map((link, index) => ({
          ...this.carriedSignature(link, options),
          ...(group !== undefined ? { group, groupIndex: index + 1 } : {}),
        }));
        if (links.length > 0) pkg.chain = links;
        const [job] = await this.send([pkg]);
        const last = links[links.length - 1];
        return (last ? new Job(this, last.id, last.name, last.options?.queue) : job!) as Job<ChainResult<S>>;
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
          const pkg = this.buildPackage(data, { ...this.signatureOptions(data), ...options, group });
          pkg.groupIndex = index;
          return pkg;
        });
        await this.send(packages);
        return new GroupHandle(
          this,
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
        const callbackData = this.carriedSignature(callback.toData(), {});
        const packages = signatures.map((signature, index) => {
          const data = signature.toData();
          const pkg = this.buildPackage(data, { ...this.signatureOptions(data), ...options, group });
          pkg.groupIndex = index;
          pkg.chord = { callback: callbackData, size: signatures.length };
          return pkg;
        });
        await this.send(packages);
        return new Job<R>(this, callbackData.id, callbackData.name, callbackData.options?.queue);
      },
    };
  }

  /** A handle for a job enqueued earlier (by id). */
  job<R = unknown>(id: string, name = 'unknown'): Job<R> {
    return new Job<R>(this, id, name);
  }

  /** Stored results of a group, in member order. */
  groupResults(group: string): Promise<TaskResult[]> {
    return this.results.group(group);
  }

  /** `options` over the defaults of task `name`, when this process knows the task. */
  private withDefaultsOfTask(name: string, options: EnqueueJobOptions): EnqueueJobOptions {
    return this.registry.has(name) ? withTaskDefaults(this.registry.get(name), options) : options;
  }

  /** A signature's own options over its task's, when this process knows the task. */
  private signatureOptions(data: SignatureData): EnqueueJobOptions {
    return this.withDefaultsOfTask(data.name, fromJobOptions(data.options));
  }

  /**
   * A signature enqueued later by a cluster (a chain link, a chord callback), with its options settled
   * now: the task's, the signature's, then the caller's. The cluster that sends it may not know the task.
   * Its id is fixed too, so a handle can wait for it and a second send is dropped.
   */
  private carriedSignature(
    data: SignatureData,
    callOptions: EnqueueJobOptions,
  ): SignatureData & { id: string } {
    // When the canvas starts, and under which id and group, is the first jobs' business.
    const {
      delay: _delay,
      eta: _eta,
      id: _id,
      group: _group,
      ...travelling
    } = {
      ...this.signatureOptions(data),
      ...callOptions,
    };
    // Where the link goes is settled here too: a cluster that sends it would otherwise use its own
    // default queue, and an alt cluster's is not the application's.
    const options = toJobOptions({ ...travelling, queue: travelling.queue ?? this.config.queue });
    return {
      name: data.name,
      args: data.args,
      id: data.id ?? uuidv7(),
      ...(Object.keys(options).length > 0 ? { options } : {}),
    };
  }

  /** A complete task package for a call, with options merged and defaults from configuration. */
  buildPackage(signature: SignatureData, options: EnqueueJobOptions): TaskPackage {
    // Types keep TypeScript callers right; JavaScript callers get the mistake named here, not a package
    // the cluster dead-letters as invalid later.
    checkArguments(signature.name, signature.args);
    checkEnqueueOptions(signature.name, options);
    const now = this.clock.now();
    const eta =
      options.eta !== undefined
        ? typeof options.eta === 'number'
          ? options.eta
          : options.eta.getTime()
        : options.delay !== undefined
          ? now + durationMs(options.delay, 'delay')
          : undefined;
    const pkg: TaskPackage = {
      id: options.id ?? signature.id ?? uuidv7(now),
      name: signature.name,
      args: signature.args,
      queue: options.queue ?? this.config.queue,
      enqueuedAt: now,
    };
    if (options.id !== undefined) chosenIds.add(pkg);
    if (eta !== undefined && eta > now) pkg.eta = eta;
    if (options.expires !== undefined)
      pkg.expiresAt =
        options.expires instanceof Date
          ? options.expires.getTime()
          : now + durationMs(options.expires, 'expires');
    if (options.group !== undefined) pkg.group = options.group;
    // The per-job settings have the same names and units in a package as in a carried signature.
    Object.assign(pkg, toJobOptions(options, `the enqueue options of ${signature.name}`));
    const traceparent = currentTraceparent();
    if (traceparent !== undefined) pkg.traceparent = traceparent;
    return pkg;
  }

  /**
   * Send packages: one broker call per (queue, priority, delay) batch. Jobs whose id was given and has
   * been enqueued before are not sent again. In `sync` mode they run here instead.
   */
  async send(packages: readonly TaskPackage[]): Promise<Job<unknown>[]> {
    try {
      return await this.deliver(packages);
    } catch (error) {
      // Sync mode: the caller sees what the task threw, where it threw it.
      throw error instanceof InlineTaskFailure ? error.thrown : error;
    }
  }

  /** `send`, with the failure of a task run inline still wrapped (follow-ups tell it from a failed send). */
  private async deliver(packages: readonly TaskPackage[]): Promise<Job<unknown>[]> {
    if (this.closed) throw new InvalidArgumentError('this tasq client is closed');
    const jobs = packages.map((pkg) => new Job(this, pkg.id, pkg.name, pkg.queue));
    const toSend: TaskPackage[] = [];
    for (const pkg of packages) {
      if (!(await this.firstEnqueueOf(pkg))) continue;
      toSend.push(pkg);
    }
    if (this.config.sync) {
      // Every job runs, as every job would be sent; the first failure is raised after them all.
      let failure: InlineTaskFailure | undefined;
      for (const pkg of toSend) {
        try {
          await this.runInline(pkg);
        } catch (error) {
          if (!(error instanceof InlineTaskFailure)) throw error;
          failure ??= error;
        }
      }
      if (failure) throw failure;
      return jobs;
    }
    const now = this.clock.now();
    const batches = new Map<
      string,
      { queue: string; priority: number; delayMs: number; bodies: Uint8Array[]; packages: TaskPackage[] }
    >();
    for (const pkg of toSend) {
      const delayMs = pkg.eta !== undefined ? Math.max(0, pkg.eta - now) : 0;
      const key = `${pkg.queue}\u0000${pkg.priority ?? 0}\u0000${delayMs}`;
      let batch = batches.get(key);
      if (!batch) {
        batch = { queue: pkg.queue, priority: pkg.priority ?? 0, delayMs, bodies: [], packages: [] };
        batches.set(key, batch);
      }
      batch.bodies.push(this.codec.encode(pkg));
      batch.packages.push(pkg);
    }
    const ordered = [...batches.values()];
    let sent = 0;
    try {
      for (const batch of ordered) {
        await this.broker.enqueue(batch.queue, batch.bodies, {
          labels: batch.packages.map(packageLabel),
          priority: batch.priority,
          delayMs: batch.delayMs,
          allowDelayHops: true,
        });
        sent++;
      }
    } catch (error) {
      await this.releaseIdsOf(ordered.slice(sent).flatMap((batch) => batch.packages));
      throw error;
    }
    return jobs;
  }

  /**
   * Enqueue what follows a finished job (hook, next chain link, chord callback). Sending is retried for
   * a few seconds while the broker is unreachable; when it still fails, the error is thrown so the
   * cluster can run the job again, and that run sends them: the next link and the callback keep their
   * ids, so none is sent twice. A settled chord's hold ends only once its callback is sent or its
   * failure stored (chord.ts): until then its members stay stored for that next run.
   */
  async sendFollowUps(pkg: TaskPackage, result: TaskResult): Promise<void> {
    const { enqueue, neverRun, holds } = await followUps(pkg, result, this.results);
    for (const failure of neverRun) await this.saveNeverRun(pkg, failure);
    if (enqueue.length > 0) {
      try {
        await this.sendFollowUpPackages(pkg, enqueue);
      } catch (error) {
        // A follow-up run inline (sync mode) that failed was sent: its chord is settled all the same.
        if (error instanceof InlineTaskFailure) await this.endChordHolds(holds);
        throw error;
      }
    }
    await this.endChordHolds(holds);
  }

  private async endChordHolds(holds: readonly string[]): Promise<void> {
    for (const hold of holds) await endChordHold(this.results, hold);
  }

  private async sendFollowUpPackages(pkg: TaskPackage, enqueue: readonly FollowUp[]): Promise<void> {
    const packages = enqueue.map((followUp) => {
      const { group, groupIndex } = followUp.signature;
      const next = this.buildPackage(followUp.signature, {
        ...fromJobOptions(followUp.signature.options),
        ...(followUp.id ? { id: followUp.id } : {}),
        ...(group !== undefined ? { group } : {}),
      });
      if (groupIndex !== undefined) next.groupIndex = groupIndex;
      next.parentId = pkg.id;
      // Follow-ups are sent by the cluster, outside any span: they continue the trace of what they follow.
      if (next.traceparent === undefined && pkg.traceparent !== undefined) next.traceparent = pkg.traceparent;
      if (followUp.chain) next.chain = followUp.chain;
      return next;
    });
    await retryWhileUnreachable(() => this.deliver(packages), {
      pausesMs: FOLLOW_UP_RETRY_PAUSES_MS,
      sleep: (ms) => this.clock.sleep(ms),
      onRetry: (error, attempt) =>
        this.logger.warn(
          { jobId: pkg.id, attempt, error: error.message },
          'follow-ups not sent yet: the broker is unreachable; trying again',
        ),
    });
  }

  /** Store the failure of a job that will not run because `pkg` failed (a chord callback, a chain's end). */
  private async saveNeverRun(pkg: TaskPackage, failure: CanvasFailure): Promise<void> {
    const now = this.clock.now();
    await this.results.save({
      id: failure.id,
      name: failure.name,
      queue: pkg.queue,
      ...(failure.group !== undefined ? { group: failure.group } : {}),
      ...(failure.groupIndex !== undefined ? { groupIndex: failure.groupIndex } : {}),
      status: 'failure',
      error: toErrorInfo(failure.error),
      attempts: 0,
      enqueuedAt: now,
      startedAt: now,
      stoppedAt: now,
    });
    // The same claim a send of this id takes (firstEnqueueOf): a later settlement finds it sent.
    if (failure.closesJob) await this.results.claimOnce(`enqueue:${failure.id}`);
  }

  /**
   * The schedule store (opened on first use): the broker package's, or, for a broker that stores
   * nothing (RabbitMQ, SQS), the result backend package's (Redis, SQL, MongoDB).
   */
  schedules(): Promise<ScheduleStore> {
    this.scheduleStore ??= this.openScheduleStore();
    return this.scheduleStore;
  }

  private async openScheduleStore(): Promise<ScheduleStore> {
    const found = (await this.sharedStatePackages()).find(({ plugin }) => plugin.createScheduleStore);
    if (!found?.plugin.createScheduleStore) {
      const backend = this.config.resultBackend;
      throw new InvalidArgumentError(
        `the ${this.plugin.name} broker package has no schedule store${backend ? `, nor has the result backend's package "${backend.module}"` : ''}: keep results in Redis, PostgreSQL, SQLite or MongoDB to store schedules there`,
      );
    }
    return found.plugin.createScheduleStore(found.options, this.context);
  }

  /**
   * The packages that can keep state shared by clusters (schedules, rate-limit counters), in order of
   * preference: the broker's, then the result backend's when that is another broker package.
   */
  private async sharedStatePackages(): Promise<{ plugin: BrokerPlugin; options: Record<string, unknown> }[]> {
    const packages = [{ plugin: this.plugin, options: this.config.broker.options }];
    const backend = this.config.resultBackend;
    if (backend) {
      const plugin = await loadResultBackendModule(backend, this.cwd);
      if (isBrokerPlugin(plugin) && plugin !== this.plugin)
        packages.push({ plugin, options: backend.options });
    }
    return packages;
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
    const record = defineSchedule(name, args, options, this.clock.now(), this.config.timeZone);
    const store = await this.schedules();
    if ((await store.list()).some((s) => s.name === record.name)) {
      throw new InvalidArgumentError(`a schedule named "${record.name}" already exists`);
    }
    await store.save(record);
    return record;
  }

  /**
   * The cluster-wide rate limiter (opened on first use): the broker package's, or the result backend
   * package's when only that has one (RabbitMQ with results in Redis); undefined when neither offers
   * one (limits are then enforced per cluster). Closed with the client.
   */
  rateLimiter(): Promise<RateLimiter | undefined> {
    this.sharedRateLimiter ??= this.sharedStatePackages().then((packages) => {
      const found = packages.find(({ plugin }) => plugin.createRateLimiter);
      return found?.plugin.createRateLimiter?.(found.options, this.context);
    });
    return this.sharedRateLimiter;
  }

  /** A scheduler wired to this client's store, result backend and broker; the cluster starts it. */
  async createScheduler(owner: string, options: Partial<SchedulerOptions> = {}): Promise<Scheduler> {
    return new Scheduler({
      store: await this.schedules(),
      claim: (key) => this.results.claimOnce(key),
      release: (key) => this.results.releaseClaim(key),
      enqueue: async (schedule, _slot, jobId) => {
        // Whichever cluster leads (an alt cluster's own queue is not the deployment's), a run that
        // names no queue, nor has one from its task, goes to the deployment's queue.
        const options = this.withDefaultsOfTask(schedule.task, schedule.options as EnqueueJobOptions);
        await this.enqueueByName(schedule.task, schedule.args, {
          ...options,
          queue: options.queue ?? this.config.deploymentQueue,
          id: jobId,
        });
      },
      owner,
      lockName: `${this.config.name}:scheduler`,
      catchUp: this.config.catchUp,
      defaultTimeZone: this.config.timeZone,
      clock: this.clock,
      logger: this.logger,
      ...options,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const store = this.scheduleStore?.then((s) => s.close());
    const limiter = this.sharedRateLimiter?.then((l) => l?.close());
    await Promise.allSettled([
      this.broker.close(),
      this.results.close(),
      ...(store ? [store] : []),
      ...(limiter ? [limiter] : []),
    ]);
  }

  /** Idempotency by job id: only the first enqueue of an id that the caller chose goes out. */
  private async firstEnqueueOf(pkg: TaskPackage): Promise<boolean> {
    if (!chosenIds.has(pkg)) return true;
    return this.results.claimOnce(`enqueue:${pkg.id}`);
  }

  /**
   * Give back the idempotency claims of packages that were not sent, so a retry of their enqueue goes
   * out. A batch whose call failed may still have reached the broker: a retry can then send a duplicate,
   * which at-least-once delivery allows, where keeping the claim would drop the job for good.
   */
  private async releaseIdsOf(packages: readonly TaskPackage[]): Promise<void> {
    for (const pkg of packages) if (chosenIds.has(pkg)) await this.giveBackClaim(`enqueue:${pkg.id}`, pkg.id);
  }

  /** releaseClaim for a send that failed: the send's own error is what the caller must see, so this one is logged. */
  private async giveBackClaim(key: string, jobId: string): Promise<void> {
    await this.results.releaseClaim(key).catch((error: unknown) => {
      this.logger.warn(
        { jobId, claim: key, error: String(error) },
        'could not give back the claim of an unsent job',
      );
    });
  }

  /**
   * Sync mode: run `pkg` here, and settle each run as a cluster would (`decideOutcome`, the one job
   * lifecycle): a retry of the task's own policy runs again at once (its delay is not waited for); a
   * release runs again as the next delivery would, while `maxAttempts` bounds the deliveries (with no
   * bound a cluster would redeliver for ever: sync mode stops after the first run, as that run's stored
   * outcome says). The result is stored when the decision says so, and a final run's follow-ups are run.
   * When the task fails for good, throws an InlineTaskFailure carrying what it threw, after its failure
   * is stored and its follow-ups (a hook, the end of a chain) have run; a follow-up's own failure comes up
   * the same way.
   */
  /**
   * Where a task run inline stores its progress: straight in the result backend, coalesced as a
   * cluster's are. Undefined where the backend keeps no progress (the values are still checked).
   */
  private inlineProgress():
    | { report(id: string, value: ProgressValue): void; finish(): Promise<void> }
    | undefined {
    const admin = this.results.administration;
    if (admin?.capabilities.progress !== true || !admin.saveProgress) return undefined;
    const writes: Promise<void>[] = [];
    const buffer = new ProgressBuffer<string>((entries) => {
      for (const [id, value] of entries) {
        writes.push(
          admin.saveProgress!(id, { value, at: this.clock.now() }).catch((error) =>
            this.logger.warn({ jobId: id, err: String(error) }, 'storing the progress of a job failed'),
          ),
        );
      }
    });
    return {
      report: (id, value) => buffer.report(id, value),
      finish: async () => {
        buffer.flushNow();
        await Promise.all(writes);
      },
    };
  }

  private async runInline(original: TaskPackage): Promise<void> {
    const settings = {
      maxAttempts: this.config.maxAttempts,
      ackFailures: this.config.ackFailures,
      saveLimit: this.config.saveLimit,
      retryMs: this.config.retryMs,
    };
    let pkg = original;
    let deliveries = 1;
    for (;;) {
      let thrown: unknown;
      const progress = this.inlineProgress();
      const result = await executeTask(this.registry, pkg, {
        logger: this.logger,
        saveArgs: this.config.saveArgs,
        deliveries,
        now: () => this.clock.now(),
        onThrow: (error) => {
          thrown = error;
        },
        ...(progress ? { progress: (value: ProgressValue) => progress.report(pkg.id, value) } : {}),
      });
      await progress?.finish();
      const decision = decideOutcome({ pkg, result, deliveries }, settings);
      if (decision.save) await this.results.save(result);
      const { action } = decision;
      if (action.kind === 'retry') {
        pkg = { ...pkg, attempt: action.attempt };
        deliveries = 1;
        continue;
      }
      if (action.kind === 'release' && maxAttemptsOf(pkg, settings.maxAttempts) > 0) {
        deliveries++;
        continue;
      }
      if (decision.final) await this.sendFollowUps(pkg, result);
      if (result.status === 'failure') throw new InlineTaskFailure(thrown);
      return;
    }
  }
}

/** What a task run inline (sync mode) threw, on its way up to the enqueue that ran it. */
class InlineTaskFailure extends Error {
  constructor(readonly thrown: unknown) {
    super('a task run inline failed');
  }
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

/** Pauses between tries of sending follow-ups while the broker is unreachable: five tries, about 4 s. */
const FOLLOW_UP_RETRY_PAUSES_MS = [250, 500, 1_000, 2_000];

/** Packages whose id the caller chose: only those need the idempotency check. */
const chosenIds = new WeakSet<TaskPackage>();

function withTaskDefaults(task: Task<any, any>, options: EnqueueJobOptions): EnqueueJobOptions {
  // Checked before merging: spreading a string or a list would turn it into an object of indexes.
  checkEnqueueOptions(task.name, options);
  return {
    ...(taskDefaultOptions(task.options as Record<string, unknown>) as EnqueueJobOptions),
    // `expires` is dated when the job is enqueued (now + the duration) and never carried by a signature,
    // so it is not one of the table's job options.
    ...(task.options.expires !== undefined ? { expires: task.options.expires } : {}),
    ...options,
  };
}

/** What a carried signature keeps of the caller's options: when and as what the canvas starts is not. */
type TravellingOptions = Omit<EnqueueJobOptions, 'delay' | 'eta' | 'id' | 'group' | 'expires'>;

/**
 * The per-job settings of enqueue options, as a package and a carried signature hold them (the table
 * in job-options.ts): durations in milliseconds, the hook by name, unset ones left out.
 */
function toJobOptions(options: TravellingOptions, where = 'enqueue options'): JobOptionsData {
  return jobOptionFields(options as Record<string, unknown>, where);
}

function fromJobOptions(options: JobOptionsData | undefined): EnqueueJobOptions {
  return jobOptionsOf(options) as EnqueueJobOptions;
}

/** A handle on one job: wait for its result. */
export class Job<R = unknown> {
  constructor(
    private readonly tasq: Tasq,
    readonly id: string,
    readonly name: string,
    /** The queue it was sent to, when this handle comes from the enqueue (for the timeout's message). */
    readonly queue?: string,
  ) {}

  /**
   * The task's return value. Throws TaskFailedError when the task failed, ResultTimeoutError when no
   * result arrived in time (default 30 s).
   */
  async result(options: { timeout?: number | string } = {}): Promise<R> {
    // A number here is milliseconds, as in `job.result({ timeout: 5_000 })`; a string carries its unit.
    const timeout = options.timeout ?? 30_000;
    const timeoutMs = typeof timeout === 'number' ? timeout : durationMs(timeout, 'timeout');
    const outcome = await this.tasq.results.wait(this.id, timeoutMs);
    if (!outcome) {
      throw new ResultTimeoutError(this.id, timeoutMs, {
        deployment: this.tasq.config.name,
        queue: this.queue,
      });
    }
    if (outcome.status === 'failure') {
      throw new TaskFailedError(this.id, outcome.name, outcome.error ?? { name: 'Error', message: 'failed' });
    }
    return outcome.result as R;
  }

  /** The stored TaskResult, waiting up to `timeoutMs` (0: just look). */
  outcome(timeoutMs = 0): Promise<TaskResult | undefined> {
    return timeoutMs > 0 ? this.tasq.results.wait(this.id, timeoutMs) : this.tasq.results.get(this.id);
  }
}

/** A handle on a group: its members' results, in order. */
export class GroupHandle {
  constructor(
    private readonly tasq: Tasq,
    readonly group: string,
    readonly ids: readonly string[],
    /** The members' queues, in member order, when this handle comes from the enqueue. */
    readonly queues: readonly string[] = [],
  ) {}

  /** Wait until every member has a result (timeout in ms, default 30 s); results in member order. */
  async results(options: { timeout?: number } = {}): Promise<TaskResult[]> {
    const timeoutMs = options.timeout ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const results: TaskResult[] = [];
    for (const [index, id] of this.ids.entries()) {
      const result = await this.tasq.results.wait(id, Math.max(0, deadline - Date.now()));
      if (!result) {
        const where = { deployment: this.tasq.config.name, queue: this.queues[index] };
        throw new ResultTimeoutError(id, timeoutMs, where);
      }
      results.push(result);
    }
    return results;
  }

  /** The members' return values, in order; throws TaskFailedError for the first failed member. */
  async values(options: { timeout?: number } = {}): Promise<unknown[]> {
    return (await this.results(options)).map((r) => {
      if (r.status === 'failure')
        throw new TaskFailedError(r.id, r.name, r.error ?? { name: 'Error', message: 'failed' });
      return r.result;
    });
  }
}

function checkArguments(name: string, args: unknown): void {
  if (!Array.isArray(args)) {
    throw new InvalidArgumentError(`the arguments of ${name} must be a list, got ${describeValue(args)}`);
  }
}

function checkEnqueueOptions(name: string, options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(
      `the enqueue options of ${name} must be an object, got ${describeValue(options)}`,
    );
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
