/**
 * How a tasq queue name becomes an SQS queue name. SQS names allow letters, digits, `-` and `_`, at most
 * 80 characters, and FIFO queues must end in `.fifo`; the dead-letter queue of a queue is named after it.
 */
import { deploymentSegment, InvalidArgumentError } from '@tasq/core/backend';

/** SQS's own limit on a queue name, `.fifo` suffix included. */
export const SQS_QUEUE_NAME_MAX_LENGTH = 80;
const FIFO_SUFFIX = '.fifo';
const SQS_NAME_CHARACTERS = /^[A-Za-z0-9_-]*$/;

export interface QueueNaming {
  /** Put in front of every queue name: the `queuePrefix` option, then the deployment's part. */
  prefix: string;
  /** Appended to a queue's name (before `.fifo`) to name its dead-letter queue. */
  deadLetterSuffix: string;
  /** Every queue is a FIFO queue. */
  fifo: boolean;
}

/** The SQS names behind one tasq queue. */
export interface SqsQueueNames {
  /** Where packages wait. */
  queue: string;
  /** Where `deadLetter` moves them. */
  deadLetter: string;
}

/**
 * What a deployment puts in front of its queue names, after `queuePrefix`: '' for the default deployment
 * (its queues keep their names), `<name>__` for any other, or a readable part of the name and a hash of it
 * where the name holds a character SQS refuses (".") or is longer than 24 characters
 * (`billing.eu` → `billing_eu__600abb48__`). The "__" keeps `a` + `b-c` apart from `a-b` + `c`.
 */
export function deploymentQueuePrefix(deployment: string | undefined): string {
  const segment = deploymentSegment(deployment, { allowed: /[A-Za-z0-9_-]/, maxLength: 24 });
  return segment === '' ? '' : `${segment}__`;
}

/** Check the parts of the naming that come from options, so a bad prefix fails when the broker is built. */
export function checkNaming(naming: QueueNaming): void {
  if (!SQS_NAME_CHARACTERS.test(naming.prefix)) {
    throw new InvalidArgumentError(
      `sqs broker: queuePrefix ${JSON.stringify(naming.prefix)} may contain only letters, digits, "-" and "_"`,
    );
  }
  if (naming.deadLetterSuffix.length === 0 || !SQS_NAME_CHARACTERS.test(naming.deadLetterSuffix)) {
    throw new InvalidArgumentError(
      `sqs broker: deadLetterSuffix ${JSON.stringify(naming.deadLetterSuffix)} must be 1 or more letters, digits, "-" or "_"`,
    );
  }
}

/**
 * Map a tasq queue name to its SQS queue and dead-letter queue names. Refuses, naming the rule, a name
 * SQS cannot hold, so the problem shows on the first call instead of as a service error later.
 * Both names are checked together: a queue that can be enqueued to can always be dead-lettered from.
 */
export function sqsQueueNames(queue: string, naming: QueueNaming): SqsQueueNames {
  let base = queue;
  if (queue.endsWith(FIFO_SUFFIX)) {
    if (!naming.fifo) {
      throw new InvalidArgumentError(
        `sqs broker: queue ${JSON.stringify(queue)} names a FIFO queue; set the broker option \`fifo: true\` to use FIFO queues`,
      );
    }
    base = queue.slice(0, -FIFO_SUFFIX.length);
  }
  if (base.length === 0 || !SQS_NAME_CHARACTERS.test(base)) {
    throw new InvalidArgumentError(
      `sqs broker: invalid queue name ${JSON.stringify(queue)}: SQS queue names may contain only letters, digits, "-" and "_"` +
        (naming.fifo ? ' (and the ".fifo" suffix)' : ''),
    );
  }
  const suffix = naming.fifo ? FIFO_SUFFIX : '';
  const names = {
    queue: `${naming.prefix}${base}${suffix}`,
    deadLetter: `${naming.prefix}${base}${naming.deadLetterSuffix}${suffix}`,
  };
  if (names.deadLetter.length > SQS_QUEUE_NAME_MAX_LENGTH) {
    const room = SQS_QUEUE_NAME_MAX_LENGTH - (names.deadLetter.length - base.length);
    throw new InvalidArgumentError(
      `sqs broker: queue name ${JSON.stringify(queue)} is too long: its dead-letter queue would be ` +
        `${JSON.stringify(names.deadLetter)} (${names.deadLetter.length} characters, SQS allows ${SQS_QUEUE_NAME_MAX_LENGTH}); ` +
        `with this prefix and suffix a queue name may have at most ${Math.max(room, 0)} characters`,
    );
  }
  return names;
}
