/**
 * What the running clusters say about the jobs they hold, for a broker that cannot look a package up
 * (RabbitMQ, SQS): a reserved message is invisible to everyone but the cluster holding it, so that
 * cluster is the one source that can say the job is running. The cluster package supplies the source
 * (over remote control where the broker has pub/sub, else from the snapshots clusters store at each
 * heartbeat); the administration API asks it only when neither the broker nor the result backend knows
 * the job.
 */

/** A job a live cluster holds, as it last reported it. */
export interface HeldJob {
  readonly id: string;
  readonly queue: string;
  readonly task: string;
  /** The cluster holding it (`name@host:pid`). */
  readonly cluster: string;
  /** When a worker started it; absent while it waits in the cluster for a worker. */
  readonly startedAt?: number;
  /** Epoch ms of the cluster's report the answer comes from. */
  readonly reportedAt: number;
}

/** Asks the running clusters of a deployment about one job. */
export interface HeldJobsSource {
  /** The job as a live cluster holds it, or undefined when no cluster that answered holds it. */
  find(jobId: string): Promise<HeldJob | undefined>;
}
