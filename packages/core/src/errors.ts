/**
 * Every error tasq raises on purpose. Broker packages map their driver's errors onto the small
 * closed set below (in one file each, `src/<id>-errors.ts`), so the runtime can decide what to do
 * from the class alone: reconnect, count and drop, or refuse.
 */

/** Base of every tasq error; `code` is stable and safe to match on. */
export class TasqError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Base of the errors that cross the broker seam. A broker error that is none of the subclasses. */
export class BrokerError extends TasqError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'BROKER_ERROR', message, options);
  }
}

/**
 * The broker could not be reached, dropped the connection, or did not answer within the call's
 * deadline. Retryable: the caller reconnects (or waits for the driver to) and goes on.
 */
export class BrokerConnectionError extends BrokerError {
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'BROKER_CONNECTION' });
  }
}

/**
 * An ack, release, deadLetter or extend named a lease that has already moved on (it expired and the
 * package was delivered again, or it was already settled). Never retried: the runtime logs and counts it.
 */
export class LeaseLostError extends BrokerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'LEASE_LOST' });
  }
}

/** The request needs something the broker said in `capabilities` that it cannot do. Raised before any network call. */
export class CapabilityError extends BrokerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'CAPABILITY' });
  }
}

/** A package is larger than the broker accepts (`capabilities.maxPackageBytes`). Raised before any network call. */
export class PackageTooLargeError extends BrokerError {
  readonly sizeBytes: number;
  readonly limitBytes: number;
  constructor(sizeBytes: number, limitBytes: number, brokerName: string) {
    super(
      `package of ${sizeBytes} bytes exceeds the ${brokerName} broker's limit of ${limitBytes} bytes; ` +
        'enable `compress` or pass large data by reference (a URL or a database id) instead',
      { code: 'PACKAGE_TOO_LARGE' },
    );
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

/** Why the codec refused a package. Each reason is checked before anything after it is read. */
export type PackageRejectionReason =
  | 'truncated'
  | 'unknown-format-version'
  | 'unknown-key'
  | 'bad-signature'
  | 'unknown-serializer'
  | 'unknown-compressor'
  | 'malformed-payload'
  | 'forbidden-key'
  | 'invalid-package';

/** A package that must never run: bad signature, broken frame, unknown codec part, or unsafe content. */
export class PackageRejectedError extends TasqError {
  readonly reason: PackageRejectionReason;
  constructor(reason: PackageRejectionReason, message: string, options?: { cause?: unknown }) {
    super('PACKAGE_REJECTED', `package rejected (${reason}): ${message}`, options);
    this.reason = reason;
  }
}

/** Configuration that does not validate. `issues` lists every problem, each naming its key. */
export class ConfigError extends TasqError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], source?: string) {
    const where = source ? ` (${source})` : '';
    super('CONFIG_INVALID', `invalid tasq configuration${where}:\n  - ${issues.join('\n  - ')}`);
    this.issues = issues;
  }
}

/** A task name that is not in the registry of the process that was asked to run it. */
export class UnknownTaskError extends TasqError {
  readonly taskName: string;
  constructor(taskName: string) {
    super(
      'UNKNOWN_TASK',
      `unknown task "${taskName}": no task of that name is registered in this process (check the \`tasks\` modules in the configuration)`,
    );
    this.taskName = taskName;
  }
}

/**
 * A run used its task context as an argument value: the task was given fewer arguments than its handler
 * takes, so the context (which always follows the arguments given) landed in a parameter meant for one.
 */
export class TaskArgumentsError extends TasqError {
  constructor(message: string) {
    super('TASK_ARGUMENTS', message);
  }
}

/** Two different definitions tried to register one task name. */
export class DuplicateTaskError extends TasqError {
  constructor(taskName: string) {
    super(
      'DUPLICATE_TASK',
      `task "${taskName}" is already registered with a different handler; task names must be unique`,
    );
  }
}

/**
 * `job.result()` gave up waiting. The job may still finish later; when it never does, no cluster consumes
 * its queue, or the clusters that do have another secret (they dead-letter the job unread): the message
 * says so, naming the deployment and queue when the handle knows them.
 */
export class ResultTimeoutError extends TasqError {
  readonly jobId: string;
  constructor(
    jobId: string,
    timeoutMs: number,
    where: { deployment?: string; queue?: string | undefined } = {},
  ) {
    const queue = where.queue !== undefined ? ` "${where.queue}"` : '';
    const deployment = where.deployment !== undefined ? ` of deployment "${where.deployment}"` : '';
    super(
      'RESULT_TIMEOUT',
      `no result for job ${jobId} within ${timeoutMs} ms: it may still be queued or running. If it never ` +
        `finishes, check that a cluster${deployment} consumes its queue${queue} (\`tasq info\` lists the running ones) ` +
        "and that it has this application's secret: a cluster with another one dead-letters the job unread " +
        '(`tasq check` compares them)',
    );
    this.jobId = jobId;
  }
}

/** Raised by `job.result()` when the task failed; carries the remote error's name, message and stack. */
export class TaskFailedError extends TasqError {
  readonly jobId: string;
  readonly remote: { name: string; message: string; stack?: string };
  constructor(jobId: string, taskName: string, remote: { name: string; message: string; stack?: string }) {
    super('TASK_FAILED', `task ${taskName} (job ${jobId}) failed: ${remote.name}: ${remote.message}`);
    this.jobId = jobId;
    this.remote = remote;
  }
}

/** A value that cannot be given to a broker or backend call (a bad queue name, a negative lease...). */
export class InvalidArgumentError extends TasqError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}
