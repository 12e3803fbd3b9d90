/**
 * The job-administration API: one place that answers an operator's questions and carries out their
 * decisions, combining the broker's administration capability, the result backend's and the cancel
 * marks. The CLI and the dashboard call only this; neither holds queue logic of its own.
 *
 *   const admin = Administration.of(tasq);
 *   const view = await admin.job(id);             // state, attempts, times, progress, error
 *   const page = await admin.jobs({ queue: 'mail', state: 'queued', limit: 50 });
 *   await admin.cancel(id);
 *   await admin.requeueDead([id]);
 *   await admin.pause('mail');
 *
 * Nothing here sits on the hot path: enqueue and the cluster's reserve/settle calls are unchanged; the
 * only addition there is the label the client passes beside each body (no extra round trip).
 */
import type { Broker, QueueSize } from '../broker.js';
import { Tasq } from '../client.js';
import type { Clock } from '../clock.js';
import { BrokerError, InvalidArgumentError, TasqError } from '../errors.js';
import type { ResultBackend, TaskResult } from '../result-backend.js';
import { runtimeServicesOf } from '../runtime-services.js';
import type { TaskPackage, TaskPackageCodec } from '../task-package.js';
import {
  type BrokerAdministration,
  type BrokerAdministrationCapabilities,
  type CancelMark,
  type DeadLetterFilter,
  type DeadLetterRetention,
  type LivePackageState,
  NO_BROKER_ADMINISTRATION,
  type StoredPackage,
} from './broker-administration.js';
import { JobStateError, UnknownJobError, UnsupportedOperationError } from './errors.js';
import type { HeldJob, HeldJobsSource } from './held-jobs.js';
import { checkProgress } from './progress.js';
import { checkLimit, MAX_LIST_LIMIT } from './query-checks.js';
import {
  CANCELLED_ERROR_NAME,
  type CancelOutcome,
  cancelledBeforeStartError,
  EXPIRED_ERROR_NAME,
  JOB_STATES,
  type JobListQuery,
  type JobPage,
  type JobState,
  type JobView,
  type JobViewInclude,
  type QueueStatus,
  type RequeueOutcome,
  saysNeverStarted,
} from './job-view.js';
import { type MarksKeeper, marksKeeper, withResultMarks } from './result-marks.js';
import type {
  ProgressValue,
  ResultAdministration,
  ResultAdministrationCapabilities,
  StoredProgress,
} from './result-administration.js';

/** What the administration API is built from; `Administration.of(tasq)` takes them from a client. */
export interface AdministrationSources {
  broker: Broker;
  results: ResultBackend;
  /** Reads package bodies (attempt, args, eta) and writes requeued ones with fresh attempts. */
  codec: TaskPackageCodec;
  clock: Clock;
  /** The queue used when a query names none. */
  defaultQueue: string;
  /** Sends a package (a retried job) the way the client sends any package. */
  send(packages: readonly TaskPackage[]): Promise<unknown>;
  /** The running clusters, asked about a job the broker cannot look up (see `HeldJobsSource`). */
  heldJobs?: HeldJobsSource;
}

/** The runtime services the administration API needs (a structural type: `RuntimeServices` fits it). */
export interface AdministrationClient {
  readonly broker: { readonly broker: Broker };
  readonly results: ResultBackend;
  readonly codec: TaskPackageCodec;
  readonly clock: Clock;
  readonly config: { readonly queue: string };
  send(packages: readonly TaskPackage[]): Promise<unknown>;
}

/** Everything this deployment's broker and result backend let the API do. */
export interface AdministrationSupport {
  readonly broker: string;
  readonly results: string;
  readonly brokerCapabilities: BrokerAdministrationCapabilities;
  readonly resultCapabilities: ResultAdministrationCapabilities;
  /** Where pause flags and cancel marks are kept: the broker's own, the result backend's, or nowhere. */
  readonly marksKeptBy: MarksKeeper;
}

const NO_RESULT_ADMINISTRATION: ResultAdministrationCapabilities = Object.freeze({
  delete: false,
  progress: false,
});

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = MAX_LIST_LIMIT;
/** Dead letters requeued per broker call when requeueing by filter. */
const REQUEUE_BATCH = 100;

/** The broker states each listable job state is read from. */
const LIVE_STATES_OF: Partial<Record<JobState, LivePackageState[]>> = {
  queued: ['ready'],
  scheduled: ['delayed'],
  retrying: ['delayed'],
  running: ['reserved'],
};

export class Administration {
  private readonly broker: Broker;
  private readonly brokerAdmin: BrokerAdministration | undefined;
  private readonly results: ResultBackend;
  private readonly resultAdmin: ResultAdministration | undefined;

  constructor(private readonly sources: AdministrationSources) {
    this.broker = sources.broker;
    this.results = sources.results;
    this.resultAdmin = sources.results.administration;
    // A broker that keeps no pause flags or cancel marks of its own keeps them in the result backend.
    this.brokerAdmin = withResultMarks(sources.broker.administration, this.resultAdmin);
  }

  /** The administration API over a connected client (`connect()`), sharing its connections. */
  static of(
    client: Tasq | AdministrationClient,
    options: { heldJobs?: HeldJobsSource } = {},
  ): Administration {
    const tasq = client instanceof Tasq ? runtimeServicesOf(client) : client;
    return new Administration({
      ...optional('heldJobs', options.heldJobs),
      broker: tasq.broker.broker,
      results: tasq.results,
      codec: tasq.codec,
      clock: tasq.clock,
      defaultQueue: tasq.config.queue,
      send: (packages) => tasq.send(packages),
    });
  }

  /** What this deployment can answer and do. */
  support(): AdministrationSupport {
    return {
      broker: this.broker.name,
      results: this.results.name,
      brokerCapabilities: this.brokerAdmin?.capabilities ?? NO_BROKER_ADMINISTRATION,
      resultCapabilities: this.resultAdmin?.capabilities ?? NO_RESULT_ADMINISTRATION,
      marksKeptBy: marksKeeper(this.broker.administration, this.resultAdmin),
    };
  }

  // ---- one job -------------------------------------------------------------------------------------

  /**
   * A job's state and details by id. The broker answers while it holds a package of the job; then the
   * result backend; then, on a broker that cannot look packages up, the live cluster that holds it
   * (`heldJobs`); then a cancel mark. `unknown` when none of them knows the id (or, on a broker that
   * cannot look packages up, while the job waits in its queue).
   */
  async job(id: string, include: JobViewInclude = {}): Promise<JobView> {
    checkJobId(id);
    const [stored, outcome, mark, progress] = await Promise.all([
      this.can('lookup') ? this.call('find', () => this.brokerAdmin!.find!(id)) : undefined,
      this.results.get(id),
      this.cancelMarkOf(id),
      this.progressOf(id),
    ]);
    if (stored) return this.viewOfPackage(stored, include, { mark, progress, outcome });
    if (outcome) return viewOfResult(outcome, include, { mark, progress });
    const held = await this.heldByCluster(id);
    if (held) return viewOfHeld(held, { mark, progress });
    if (mark) return { id, state: 'cancelled', source: 'cancel-mark', cancelMark: mark };
    return { id, state: 'unknown', source: 'none', ...(progress ? { progress } : {}) };
  }

  /** A job's latest progress, or undefined (also where the backend keeps none). */
  async progress(id: string): Promise<StoredProgress | undefined> {
    checkJobId(id);
    return this.progressOf(id);
  }

  /**
   * Store a running job's latest progress (the cluster calls this, coalesced). Refuses a value that is
   * not a finite number or a plain object of at most 1 KiB as JSON.
   */
  async reportProgress(id: string, value: ProgressValue): Promise<void> {
    checkJobId(id);
    checkProgress(value);
    this.requireResults('progress', 'keep job progress');
    await this.resultAdmin!.saveProgress!(id, { value, at: this.sources.clock.now() });
  }

  // ---- lists ---------------------------------------------------------------------------------------

  /**
   * Jobs of a queue, newest first, a page at a time. Waiting and running jobs come from the broker
   * (`browse`), dead ones from its dead letters, finished ones from the result backend.
   */
  async jobs(query: JobListQuery = {}): Promise<JobPage> {
    const queue = query.queue ?? this.sources.defaultQueue;
    const limit = limitOrDefault(query.limit);
    const state = query.state;
    if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) {
      throw new InvalidArgumentError(
        `unknown job state ${JSON.stringify(state)} (states: ${JOB_STATES.filter((s) => s !== 'unknown').join(', ')})`,
      );
    }
    if (state === 'unknown') {
      throw new InvalidArgumentError('jobs in state "unknown" cannot be listed: no source knows them');
    }
    const include = query.include ?? {};
    if (state === 'dead') {
      const page = await this.deadLetters({
        queue,
        ...optional('task', query.task),
        limit,
        ...optional('cursor', query.cursor),
      });
      return page;
    }
    if (state === undefined || LIVE_STATES_OF[state]) {
      this.requireBroker('browse', `list ${state ?? 'waiting and running'} jobs`);
      const page = await this.call('list', () =>
        this.brokerAdmin!.list!({
          queue,
          ...(state ? { states: LIVE_STATES_OF[state]! } : {}),
          ...optional('task', query.task),
          limit,
          ...optional('cursor', query.cursor),
        }),
      );
      let jobs = page.packages.map((stored) => this.viewOfPackage(stored, include, {}));
      // scheduled and retrying share the broker's `delayed`: the package tells them apart.
      if (state === 'scheduled' || state === 'retrying') jobs = jobs.filter((job) => job.state === state);
      return { jobs, ...optional('next', page.next) };
    }
    return this.finishedJobs(queue, state, query.task, limit, query.cursor, include);
  }

  /** Dead letters of a queue (optionally of one task), newest death first, with reason and last error. */
  async deadLetters(query: {
    queue?: string;
    task?: string;
    limit?: number;
    cursor?: string;
  }): Promise<JobPage> {
    this.requireBroker('deadLetters', 'list dead letters');
    const queue = query.queue ?? this.sources.defaultQueue;
    const page = await this.call('listDead', () =>
      this.brokerAdmin!.listDead!({
        queue,
        ...optional('task', query.task),
        limit: limitOrDefault(query.limit),
        ...optional('cursor', query.cursor),
      }),
    );
    const outcomes = await Promise.all(
      page.packages.map((stored) => (stored.jobId ? this.results.get(stored.jobId) : undefined)),
    );
    return {
      jobs: page.packages.map((stored, index) =>
        this.viewOfPackage(stored, {}, { ...optional('outcome', outcomes[index]) }),
      ),
      ...optional('next', page.next),
    };
  }

  // ---- decisions -----------------------------------------------------------------------------------

  /**
   * Cancel a job that has not finished. A waiting job is taken out of its queue and stored as cancelled
   * (its chain and hook never fire); a running one gets a cancel mark that running clusters act on.
   * `JobStateError` (ALREADY_FINISHED) for a finished job; `UnknownJobError` when nothing knows it.
   */
  async cancel(id: string, reason = 'cancelled by an operator'): Promise<CancelOutcome> {
    const view = await this.job(id);
    if (
      view.state === 'cancelled' ||
      view.state === 'succeeded' ||
      view.state === 'failed' ||
      view.state === 'expired'
    ) {
      throw new JobStateError(
        'ALREADY_FINISHED',
        id,
        view.state,
        `job ${id} has already finished (${view.state}): there is nothing to cancel`,
      );
    }
    if (view.state === 'dead') {
      throw new JobStateError(
        'ALREADY_FINISHED',
        id,
        view.state,
        `job ${id} is a dead letter and will not run: delete it with "tasq dead purge" or run it again with "tasq dead requeue ${id}"`,
      );
    }
    const canMark = this.can('cancelMarks');
    if (view.state === 'unknown' && (this.can('lookup') || !canMark)) throw new UnknownJobError(id);
    if (!canMark && !(this.can('remove') && isWaiting(view.state))) {
      throw new UnsupportedOperationError(
        `the ${this.broker.name} broker can neither take job ${id} out of its queue nor keep cancel marks`,
      );
    }
    // The mark first: a cluster reserving the job between the removal and the mark still sees it.
    if (canMark) await this.call('markCancelled', () => this.brokerAdmin!.markCancelled!(id, reason));
    if (isWaiting(view.state) && this.can('remove')) {
      const removed = await this.call('remove', () => this.brokerAdmin!.remove!(id));
      if (removed > 0) {
        const error = cancelledBeforeStartError(id, reason);
        await this.saveStopped(view, id, error.name, error.message);
        return { id, outcome: 'cancelled' };
      }
    }
    return { id, outcome: view.state === 'unknown' ? 'marked' : 'cancelling' };
  }

  /**
   * Run a finished job again under the same id: a dead letter is requeued with fresh attempts; a failed,
   * cancelled or expired job is sent again with the arguments its outcome kept (`saveArgs`). A clear
   * error when neither holds the arguments.
   */
  async retry(id: string): Promise<{ id: string; from: 'dead-letter' | 'result' }> {
    const view = await this.job(id, { args: true });
    if (view.state === 'unknown') throw new UnknownJobError(id);
    if (view.state === 'dead') {
      const { requeued } = await this.requeueDead([id]);
      if (requeued.length === 0) {
        throw new JobStateError(
          'NOT_DEAD',
          id,
          'queued',
          `job ${id} is no longer a dead letter (requeued meanwhile?)`,
        );
      }
      return { id, from: 'dead-letter' };
    }
    if (view.state !== 'failed' && view.state !== 'cancelled' && view.state !== 'expired') {
      throw new JobStateError(
        'WRONG_STATE',
        id,
        view.state,
        `job ${id} is ${view.state}: only failed, dead, cancelled or expired jobs can be retried`,
      );
    }
    if (view.args === undefined || view.task === undefined) {
      throw new JobStateError(
        'WRONG_STATE',
        id,
        view.state,
        `job ${id} cannot be retried: its arguments were not kept (enable \`saveArgs\` to keep them with failures)`,
      );
    }
    if (this.can('cancelMarks'))
      await this.call('clearCancelMarks', () => this.brokerAdmin!.clearCancelMarks!([id]));
    const pkg: TaskPackage = {
      id,
      name: view.task,
      args: view.args,
      queue: view.queue ?? this.sources.defaultQueue,
      enqueuedAt: this.sources.clock.now(),
      ...optional('group', view.group),
    };
    await this.withOutcomesSetAside([id], () => this.sources.send([pkg]));
    return { id, from: 'result' };
  }

  /** Take one waiting (queued, scheduled, retrying) job out of its queue, storing nothing. */
  async remove(id: string): Promise<void> {
    this.requireBroker('remove', 'remove a queued job');
    const view = await this.job(id);
    if (view.state === 'unknown') throw new UnknownJobError(id);
    if (!isWaiting(view.state)) {
      throw new JobStateError(
        view.state === 'running' ? 'WRONG_STATE' : 'ALREADY_FINISHED',
        id,
        view.state,
        `job ${id} is ${view.state}: only a queued, scheduled or retrying job can be removed${view.state === 'running' ? ' (cancel a running job instead)' : ''}`,
      );
    }
    const removed = await this.call('remove', () => this.brokerAdmin!.remove!(id));
    if (removed === 0) {
      throw new JobStateError(
        'WRONG_STATE',
        id,
        'running',
        `job ${id} was reserved by a cluster before it could be removed: cancel it instead`,
      );
    }
  }

  /**
   * Put dead letters back on their queues with fresh attempts. Requeued once even when two operators
   * ask at the same moment: the second finds them in `notDead`.
   */
  async requeueDead(ids: readonly string[]): Promise<RequeueOutcome> {
    this.requireBroker('deadLetters', 'requeue dead letters');
    for (const id of ids) checkJobId(id);
    const found: StoredPackage[] = [];
    const notDead: string[] = [];
    for (const id of ids) {
      const stored = this.can('lookup')
        ? await this.call('find', () => this.brokerAdmin!.find!(id))
        : undefined;
      if (stored?.state === 'dead') found.push(stored);
      else notDead.push(id);
    }
    const requeued = await this.requeuePackages(found);
    for (const stored of found) if (!requeued.includes(stored.jobId!)) notDead.push(stored.jobId!);
    return { requeued, notDead };
  }

  /** Requeue every dead letter of a queue (optionally of one task); returns the job ids requeued. */
  async requeueAllDead(filter: { queue?: string; task?: string }): Promise<string[]> {
    this.requireBroker('deadLetters', 'requeue dead letters');
    const queue = filter.queue ?? this.sources.defaultQueue;
    const requeued: string[] = [];
    for (;;) {
      // Always the first page: what was requeued has left it, so the next batch is there.
      const page = await this.call('listDead', () =>
        this.brokerAdmin!.listDead!({ queue, ...optional('task', filter.task), limit: REQUEUE_BATCH }),
      );
      if (page.packages.length === 0) return requeued;
      const done = await this.requeuePackages(page.packages);
      requeued.push(...done);
      // Another operator took this batch: what is left is theirs to finish or ours on the next page.
      if (done.length === 0 && !page.next) return requeued;
    }
  }

  /** Delete dead letters by job id; returns the ids deleted. */
  async deleteDead(ids: readonly string[]): Promise<string[]> {
    this.requireBroker('deadLetters', 'delete dead letters');
    const deleted: string[] = [];
    for (const id of ids) {
      checkJobId(id);
      const stored = this.can('lookup')
        ? await this.call('find', () => this.brokerAdmin!.find!(id))
        : undefined;
      if (stored?.state !== 'dead') continue;
      const gone = await this.call('deleteDead', () =>
        this.brokerAdmin!.deleteDead!([stored.packageId], stored.queue),
      );
      if (gone.length > 0) deleted.push(id);
    }
    return deleted;
  }

  /** Delete every dead letter of a queue (optionally of one task); returns how many. */
  async purgeDead(filter: { queue?: string; task?: string }): Promise<number> {
    this.requireBroker('deadLetters', 'purge dead letters');
    const queue = filter.queue ?? this.sources.defaultQueue;
    const deadFilter: DeadLetterFilter = { queue, ...optional('task', filter.task) };
    return this.call('purgeDead', () => this.brokerAdmin!.purgeDead!(deadFilter));
  }

  /** Apply a retention to a queue's dead letters (the newest `maxCount`, none older than `maxAgeMs`). */
  async trimDeadLetters(queue: string, retention: DeadLetterRetention): Promise<number> {
    this.requireBroker('deadLetters', 'trim dead letters');
    checkRetention(retention);
    return this.call('trimDead', () => this.brokerAdmin!.trimDead!(queue, retention));
  }

  // ---- queues --------------------------------------------------------------------------------------

  /** Stop every cluster taking new jobs from `queue` (persisted; enqueues still succeed). */
  async pause(queue: string): Promise<void> {
    this.requireBroker('pause', 'pause queues');
    await this.call('setPaused', () => this.brokerAdmin!.setPaused!(queue, true));
  }

  async resume(queue: string): Promise<void> {
    this.requireBroker('pause', 'resume queues');
    await this.call('setPaused', () => this.brokerAdmin!.setPaused!(queue, false));
  }

  /** The paused queues; empty where the broker keeps no pause flags. */
  async pausedQueues(): Promise<string[]> {
    if (!this.can('pause')) return [];
    return this.call('pausedQueues', () => this.brokerAdmin!.pausedQueues!());
  }

  /** A queue's counts and whether it is paused. */
  async queueStatus(queue: string): Promise<QueueStatus> {
    const [size, paused] = await Promise.all([
      this.broker.size(queue) as Promise<QueueSize>,
      this.can('pause') ? this.pausedQueues().then((queues) => queues.includes(queue)) : undefined,
    ]);
    return { queue, ...size, ...optional('paused', paused) };
  }

  // ---- marks and results ---------------------------------------------------------------------------

  /** The cancel marks among `ids` (what a cluster checks before starting jobs); empty without marks. */
  async cancelMarks(ids: readonly string[]): Promise<CancelMark[]> {
    if (!this.can('cancelMarks') || ids.length === 0) return [];
    return this.call('cancelMarks', () => this.brokerAdmin!.cancelMarks!(ids));
  }

  /** Delete every stored outcome of a group in one call; returns how many. */
  async deleteGroupResults(group: string): Promise<number> {
    if (typeof group !== 'string' || group === '') throw new InvalidArgumentError('a group name is needed');
    this.requireResults('delete', 'delete results');
    return this.resultAdmin!.deleteGroup!(group);
  }

  // ---- internals -----------------------------------------------------------------------------------

  private can(flag: keyof BrokerAdministrationCapabilities): boolean {
    return this.brokerAdmin?.capabilities[flag] === true;
  }

  private requireBroker(flag: keyof BrokerAdministrationCapabilities, what: string): void {
    if (!this.can(flag)) {
      throw new UnsupportedOperationError(
        `the ${this.broker.name} broker cannot ${what} (it does not declare the "${flag}" administration capability)`,
      );
    }
  }

  private requireResults(flag: keyof ResultAdministrationCapabilities, what: string): void {
    if (this.resultAdmin?.capabilities[flag] !== true) {
      throw new UnsupportedOperationError(
        `the ${this.results.name} result backend cannot ${what} (it does not declare the "${flag}" administration capability)`,
      );
    }
  }

  private async cancelMarkOf(id: string): Promise<CancelMark | undefined> {
    return (await this.cancelMarks([id]))[0];
  }

  /** Where the broker cannot look a job up, the live cluster that holds it, if one says so. */
  private async heldByCluster(id: string): Promise<HeldJob | undefined> {
    if (this.can('lookup') || !this.sources.heldJobs) return undefined;
    return this.sources.heldJobs.find(id);
  }

  private async progressOf(id: string): Promise<StoredProgress | undefined> {
    if (this.resultAdmin?.capabilities.progress !== true) return undefined;
    return this.resultAdmin.progress!(id);
  }

  /** Requeue dead packages with a fresh body (attempt and eta cleared); returns their job ids. */
  private async requeuePackages(packages: readonly StoredPackage[]): Promise<string[]> {
    if (packages.length === 0) return [];
    const requests = packages.map((stored) => ({
      packageId: stored.packageId,
      queue: stored.queue,
      ...optional('body', this.freshBody(stored)),
    }));
    const done = new Set(
      await this.withOutcomesSetAside(
        packages.map((stored) => stored.jobId ?? stored.packageId),
        () => this.call('requeueDead', () => this.brokerAdmin!.requeueDead!(requests)),
      ),
    );
    const jobIds = packages
      .filter((stored) => done.has(stored.packageId))
      .map((stored) => stored.jobId ?? stored.packageId);
    if (this.can('cancelMarks') && jobIds.length > 0) {
      await this.call('clearCancelMarks', () => this.brokerAdmin!.clearCancelMarks!(jobIds));
    }
    return jobIds;
  }

  /**
   * Run a job again with its old outcome out of the way: a waiter on the job (`job.result()`, the job's
   * page) must see the new run's outcome, not the failure being retried. The outcomes are deleted first,
   * so a fast new run's success cannot be deleted after it is saved; they are put back when `send` fails,
   * so nothing is lost (a failure put back never replaces a success saved meanwhile).
   */
  private async withOutcomesSetAside<T>(jobIds: readonly string[], send: () => Promise<T>): Promise<T> {
    if (this.resultAdmin?.capabilities.delete !== true || jobIds.length === 0) return send();
    const previous: TaskResult[] = [];
    for (const id of jobIds) {
      const outcome = await this.results.get(id);
      if (outcome) previous.push(outcome);
    }
    if (previous.length > 0) await this.resultAdmin.delete!(previous.map((outcome) => outcome.id));
    try {
      return await send();
    } catch (error) {
      for (const outcome of previous) await this.results.save(outcome);
      throw error;
    }
  }

  /** The body a dead letter goes back with: its retry count and due time cleared, so it starts afresh. */
  private freshBody(stored: StoredPackage): Uint8Array | undefined {
    const pkg = this.decode(stored);
    if (!pkg || (pkg.attempt === undefined && pkg.eta === undefined)) return undefined;
    const { attempt: _attempt, eta: _eta, ...fresh } = pkg;
    return this.sources.codec.encode(fresh);
  }

  private decode(stored: StoredPackage): TaskPackage | undefined {
    try {
      return this.sources.codec.decode(stored.body);
    } catch {
      // Signed with a key this client no longer has, or not a package at all: shown from labels only.
      return undefined;
    }
  }

  private viewOfPackage(
    stored: StoredPackage,
    include: JobViewInclude,
    extra: {
      mark?: CancelMark | undefined;
      progress?: StoredProgress | undefined;
      outcome?: TaskResult | undefined;
    },
  ): JobView {
    const pkg = this.decode(stored);
    const attempt = pkg?.attempt ?? 1;
    const state: JobState =
      stored.state === 'ready'
        ? 'queued'
        : stored.state === 'reserved'
          ? 'running'
          : stored.state === 'dead'
            ? 'dead'
            : attempt > 1 || stored.deliveries > 0
              ? 'retrying'
              : 'scheduled';
    const lastError = extra.outcome?.status === 'failure' ? extra.outcome.error : undefined;
    return {
      id: stored.jobId ?? pkg?.id ?? stored.packageId,
      state,
      source: 'broker',
      queue: stored.queue,
      ...optional('task', stored.task ?? pkg?.name),
      attempts: stored.deliveries,
      ...(pkg ? { attempt } : {}),
      ...optional('enqueuedAt', pkg?.enqueuedAt ?? stored.enqueuedAt),
      ...(stored.state === 'delayed' ? optional('dueAt', stored.visibleAt) : {}),
      ...optional('expiresAt', stored.expiresAt ?? pkg?.expiresAt),
      ...optional('deadAt', stored.deadAt),
      ...optional('deadReason', stored.deadReason),
      ...optional('group', pkg?.group),
      ...optional('parentId', pkg?.parentId),
      ...optional(
        'chain',
        pkg?.chain?.map((link) => link.name),
      ),
      ...optional('traceparent', pkg?.traceparent),
      ...optional('progress', extra.progress),
      ...optional('cancelMark', extra.mark),
      ...optional('error', lastError),
      ...(include.args && pkg ? { args: pkg.args } : {}),
    };
  }

  private async finishedJobs(
    queue: string,
    state: JobState,
    task: string | undefined,
    limit: number,
    cursor: string | undefined,
    include: JobViewInclude,
  ): Promise<JobPage> {
    // The result list is indexed by status and by name; queue and the cancelled/expired error names
    // are checked on the rows read, a bounded number of pages at a time.
    const status = state === 'succeeded' ? 'success' : 'failure';
    const jobs: JobView[] = [];
    let before = cursor;
    for (let page = 0; page < 10 && jobs.length < limit; page++) {
      const results = await this.results.list({
        status,
        ...optional('name', task),
        limit: MAX_LIMIT,
        ...optional('before', before),
      });
      for (const result of results) {
        before = result.id;
        if (result.queue !== queue || stateOfResult(result) !== state) continue;
        jobs.push(viewOfResult(result, include, {}));
        if (jobs.length === limit) return { jobs, next: result.id };
      }
      if (results.length < MAX_LIMIT) return { jobs };
    }
    return { jobs, ...optional('next', before) };
  }

  private async saveStopped(view: JobView, id: string, errorName: string, message: string): Promise<void> {
    const now = this.sources.clock.now();
    await this.results.save({
      id,
      name: view.task ?? 'unknown',
      queue: view.queue ?? this.sources.defaultQueue,
      status: 'failure',
      error: { name: errorName, message },
      attempts: view.attempts ?? 0,
      ...optional('group', view.group),
      enqueuedAt: view.enqueuedAt ?? now,
      startedAt: now,
      stoppedAt: now,
    });
  }

  /** A broker administration call, with a stray error named as the broker's. */
  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof TasqError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new BrokerError(`${this.broker.name} broker: ${operation} failed: ${message}`, { cause: error });
    }
  }
}

/** The state an outcome stands for. */
export function stateOfResult(result: TaskResult): JobState {
  if (result.status === 'success') return 'succeeded';
  if (result.error?.name === CANCELLED_ERROR_NAME) return 'cancelled';
  if (result.error?.name === EXPIRED_ERROR_NAME) return 'expired';
  return 'failed';
}

/**
 * Whether a stored outcome is of a job that never started: expired, or cancelled before it started (the
 * outcome's times are then only when it was stopped, not a run's).
 */
export function neverStarted(result: TaskResult): boolean {
  const state = stateOfResult(result);
  return state === 'expired' || (state === 'cancelled' && saysNeverStarted(result.error));
}

function viewOfResult(
  result: TaskResult,
  include: JobViewInclude,
  extra: { mark?: CancelMark | undefined; progress?: StoredProgress | undefined },
): JobView {
  const ran = !neverStarted(result);
  return {
    id: result.id,
    state: stateOfResult(result),
    source: 'results',
    queue: result.queue,
    task: result.name,
    attempts: result.attempts,
    enqueuedAt: result.enqueuedAt,
    ...(ran
      ? { startedAt: result.startedAt, finishedAt: result.stoppedAt }
      : { stoppedAt: result.stoppedAt }),
    ...optional('group', result.group),
    ...optional('progress', extra.progress),
    ...optional('cancelMark', extra.mark),
    ...optional('error', result.error),
    ...(include.result && result.status === 'success' ? { result: result.result } : {}),
    ...(include.args ? optional('args', result.args) : {}),
  };
}

/** A job a live cluster reports holding: running (a reserved package reads as running on every broker). */
function viewOfHeld(
  held: HeldJob,
  extra: { mark?: CancelMark | undefined; progress?: StoredProgress | undefined },
): JobView {
  return {
    id: held.id,
    state: 'running',
    source: 'cluster',
    queue: held.queue,
    task: held.task,
    ...optional('startedAt', held.startedAt),
    heldBy: { cluster: held.cluster, reportedAt: held.reportedAt },
    ...optional('progress', extra.progress),
    ...optional('cancelMark', extra.mark),
  };
}

function isWaiting(state: JobState): boolean {
  return state === 'queued' || state === 'scheduled' || state === 'retrying';
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function checkJobId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > 200) {
    throw new InvalidArgumentError(
      `a job id must be a string of 1 to 200 characters, got ${JSON.stringify(id)}`,
    );
  }
}

function limitOrDefault(limit: number | undefined): number {
  return limit === undefined ? DEFAULT_LIMIT : checkLimit(limit);
}

function checkRetention(retention: DeadLetterRetention): void {
  const { maxAgeMs, maxCount } = retention ?? {};
  if (maxAgeMs === undefined && maxCount === undefined) {
    throw new InvalidArgumentError('a dead-letter retention needs maxAgeMs, maxCount or both');
  }
  if (maxAgeMs !== undefined && !(Number.isFinite(maxAgeMs) && maxAgeMs >= 0)) {
    throw new InvalidArgumentError(`maxAgeMs must be 0 or more milliseconds, got ${String(maxAgeMs)}`);
  }
  if (maxCount !== undefined && !(Number.isInteger(maxCount) && maxCount >= 0)) {
    throw new InvalidArgumentError(`maxCount must be an integer of 0 or more, got ${String(maxCount)}`);
  }
}
