/**
 * The services a client is built on, and what a cluster runs jobs with: the broker client, the result
 * backend, the codec, the schedule store, rate limiter and pub/sub shared by clusters, and the sends a
 * run can cause. An application reaches them through `Tasq`'s methods only; the cluster and the @tasq/*
 * tools get them from `runtimeServicesOf(tasq)` or `openRuntimeServices(config)` (`@tasq/core/internal`).
 */
import { packageLabel } from './admin/package-label.js';
import { ProgressBuffer } from './admin/progress.js';
import type { ProgressValue } from './admin/result-administration.js';
import { BrokerClient } from './broker-client.js';
import { type CanvasFailure, type FollowUp, followUps } from './canvas.js';
import { endChordHold } from './chord.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { ResolvedConfig } from './config/resolve.js';
import { durationMs } from './duration.js';
import {
  checkArguments,
  checkEnqueueOptions,
  type EnqueueJobOptions,
  fromJobOptions,
  toJobOptions,
  withTaskDefaults,
} from './enqueue-options.js';
import { InvalidArgumentError } from './errors.js';
import { executeTask, toErrorInfo } from './execute.js';
import { uuidv7 } from './ids.js';
import { Job } from './job-handle.js';
import { decideOutcome, maxAttemptsOf } from './lifecycle/decide.js';
import { createBroker, createResultBackend, loadResultBackendModule, pluginContext } from './load-plugin.js';
import type { Logger } from './logger.js';
import { silentLogger } from './logger.js';
import { type BrokerPlugin, isBrokerPlugin, type PluginContext } from './plugin.js';
import type { PubSub } from './pubsub.js';
import type { RateLimiter } from './rate-limiter.js';
import type { ResultBackend, TaskResult } from './result-backend.js';
import { retryWhileUnreachable } from './retry-unreachable.js';
import type { RuntimeServices, RuntimeServicesOptions } from './runtime-services.js';
import { Scheduler, type SchedulerOptions } from './schedule/scheduler.js';
import type { ScheduleStore } from './schedule-store.js';
import { defaultRegistry, type TaskRegistry } from './task.js';
import { type SignatureData, type TaskPackage, TaskPackageCodec } from './task-package.js';
import { currentTraceparent } from './trace-context.js';

export class ClientRuntime implements RuntimeServices {
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
    options: RuntimeServicesOptions,
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

  /** Open the broker and result backend a resolved configuration names. */
  static async open(config: ResolvedConfig, options: RuntimeServicesOptions = {}): Promise<ClientRuntime> {
    const context = pluginContext(
      config.name,
      options.logger,
      options.clock,
      config.cachedSeconds,
      config.queueLimit,
    );
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
    return new ClientRuntime(
      config,
      new BrokerClient(broker, { callTimeoutMs: config.callTimeoutMs }),
      results,
      options,
      plugin,
      context,
    );
  }

  /** `options` over the defaults of task `name`, when this process knows the task. */
  withDefaultsOfTask(name: string, options: EnqueueJobOptions): EnqueueJobOptions {
    return this.registry.has(name) ? withTaskDefaults(this.registry.get(name), options) : options;
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

  /**
   * Open the deployment's pub/sub: the broker package's `createPubSub`, on a connection of its own so
   * events and control never queue behind broker calls; undefined when the broker package has none (SQS,
   * MongoDB). The caller closes it: a cluster publishes its last event after its runtime has stopped.
   */
  async openPubSub(): Promise<PubSub | undefined> {
    return this.plugin.createPubSub?.(this.config.broker.options, this.context);
  }

  /** A scheduler wired to this store, result backend and broker; the cluster starts it. */
  async createScheduler(owner: string, options: Partial<SchedulerOptions> = {}): Promise<Scheduler> {
    return new Scheduler({
      store: await this.schedules(),
      claim: (key) => this.results.claimOnce(key),
      release: (key) => this.results.releaseClaim(key),
      enqueue: async (schedule, _slot, jobId) => {
        // Whichever cluster leads (an alt cluster's own queue is not the deployment's), a run that
        // names no queue, nor has one from its task, goes to the deployment's queue.
        const options = this.withDefaultsOfTask(schedule.task, schedule.options as EnqueueJobOptions);
        checkArguments(schedule.task, schedule.args);
        await this.send([
          this.buildPackage(
            { name: schedule.task, args: [...schedule.args] },
            { ...options, queue: options.queue ?? this.config.deploymentQueue, id: jobId },
          ),
        ]);
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

/** Pauses between tries of sending follow-ups while the broker is unreachable: five tries, about 4 s. */
const FOLLOW_UP_RETRY_PAUSES_MS = [250, 500, 1_000, 2_000];

/** Packages whose id the caller chose: only those need the idempotency check. */
const chosenIds = new WeakSet<TaskPackage>();
