/**
 * What the dashboard reads from and acts on: the deployment's client (broker, result backend, schedule
 * store) and its pub/sub, opened once for the dashboard's lifetime. Every read and action goes through
 * tasq's own API; nothing here knows how a broker stores a queue.
 */
import { findLiveClusters, type LiveClusters, liveHeldJobs, openPubSub } from '@tasq/cluster';
import { Administration, type ResolvedConfig, type ScheduleRecord, Tasq } from '@tasq/core';
import type { PubSub, QueueSize } from '@tasq/core/backend';
import { runtimeServicesOf } from '@tasq/core/internal';

/** How long a job page waits for running clusters to say what they hold (only where the broker cannot). */
const HELD_JOBS_ANSWER_MS = 1_000;

export interface QueueSizeRow {
  queue: string;
  size?: QueueSize;
  /** Why the size could not be read. */
  error?: string;
}

export class Deployment {
  /** Job administration (lists, one job, cancel, retry, dead letters, pause): the only way jobs are read or changed. */
  readonly admin: Administration;

  private constructor(
    readonly tasq: Tasq,
    readonly pubsub: PubSub | undefined,
    readonly cwd: string | undefined,
    private readonly ownsTasq: boolean,
  ) {
    // On a broker that cannot look a package up (RabbitMQ, SQS) a running job is known only to the
    // cluster holding it: the live clusters answer, as they do for `tasq job show`.
    const heldJobs = liveHeldJobs(tasq, {
      waitMs: HELD_JOBS_ANSWER_MS,
      ...(cwd !== undefined ? { cwd } : {}),
    });
    this.admin = Administration.of(tasq, { heldJobs });
  }

  static async open(source: ResolvedConfig | Tasq, cwd?: string): Promise<Deployment> {
    const owns = !(source instanceof Tasq);
    const tasq = source instanceof Tasq ? source : await Tasq.open(source, cwd !== undefined ? { cwd } : {});
    try {
      const pubsub = await openPubSub(tasq.config, cwd !== undefined ? { cwd } : {});
      return new Deployment(tasq, pubsub, cwd, owns);
    } catch (error) {
      if (owns) await tasq.close();
      throw error;
    }
  }

  get config(): ResolvedConfig {
    return this.tasq.config;
  }

  /**
   * The queues of the deployment: the root's, every alt cluster's, and those running clusters consume
   * (`seen`), sorted.
   */
  queueNames(seen: Iterable<string> = []): string[] {
    const config = this.config;
    const names = new Set<string>([config.deploymentQueue, ...config.queues, ...seen]);
    if (config.cluster === 'default' && config.input.queues)
      for (const q of config.input.queues) names.add(q);
    for (const [name, alt] of Object.entries(config.input.altClusters ?? {})) {
      for (const queue of alt.queues ?? [alt.queue ?? name]) names.add(queue);
    }
    return [...names].sort();
  }

  async queueSizes(names: readonly string[]): Promise<QueueSizeRow[]> {
    return Promise.all(
      names.map(async (queue) => {
        try {
          return { queue, size: await runtimeServicesOf(this.tasq).broker.size(queue) };
        } catch (error) {
          return { queue, error: (error as Error).message };
        }
      }),
    );
  }

  async schedules(): Promise<ScheduleRecord[]> {
    const store = await runtimeServicesOf(this.tasq).schedules();
    return (await store.list()).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Running clusters: asked over remote control, or their stored snapshots without pub/sub. */
  clusters(waitMs = 1_000): Promise<LiveClusters> {
    return findLiveClusters(this.tasq, { waitMs, ...(this.cwd !== undefined ? { cwd: this.cwd } : {}) });
  }

  async close(): Promise<void> {
    await this.pubsub?.close();
    if (this.ownsTasq) await this.tasq.close();
  }
}
