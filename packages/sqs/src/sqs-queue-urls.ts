/**
 * Queue URLs by SQS queue name: looked up once with GetQueueUrl and cached; created with CreateQueue
 * when asked to. Lookups of one name made at the same time share one request. A failed lookup is not
 * cached, and `forget` drops a URL whose queue turned out to be gone.
 */
import { CreateQueueCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { isQueueMissing } from './sqs-errors.js';

/** Sends a command through the broker's client and error handling. */
export type SendCommand = <Output>(
  command: GetQueueUrlCommand | CreateQueueCommand,
  context: { operation: string; queue: string },
) => Promise<Output>;

export interface QueueCreation {
  /** Create a missing queue. */
  create: boolean;
  /** CreateQueue attributes for this queue. */
  attributes: Record<string, string>;
}

/** Most SQS keeps a message: 14 days, for dead-letter queues, so an operator has time to look. */
export const DEAD_LETTER_RETENTION_SECONDS = 1_209_600;

export class QueueUrls {
  private readonly known = new Map<string, Promise<string | undefined>>();

  constructor(private readonly send: SendCommand) {}

  /**
   * The URL of `name`; undefined when the queue does not exist and `creation.create` is false.
   * Throws the mapped service error otherwise.
   */
  async find(name: string, creation: QueueCreation): Promise<string | undefined> {
    const cached = this.known.get(name);
    if (cached) {
      const url = await cached;
      if (url !== undefined || !creation.create) return url;
    }
    const lookup = this.lookUp(name, creation);
    this.known.set(name, lookup);
    try {
      const url = await lookup;
      // A missing queue is not remembered: it may be created by someone else at any time.
      if (url === undefined && this.known.get(name) === lookup) this.known.delete(name);
      return url;
    } catch (error) {
      if (this.known.get(name) === lookup) this.known.delete(name);
      throw error;
    }
  }

  /** Drop a cached URL (its queue was deleted). */
  forget(name: string): void {
    this.known.delete(name);
  }

  private async lookUp(name: string, creation: QueueCreation): Promise<string | undefined> {
    try {
      const found = await this.send<{ QueueUrl?: string }>(new GetQueueUrlCommand({ QueueName: name }), {
        operation: 'GetQueueUrl',
        queue: name,
      });
      return found.QueueUrl;
    } catch (error) {
      if (!isQueueMissing(error)) throw error;
      if (!creation.create) return undefined;
    }
    // CreateQueue returns the existing URL when a queue of that name has the same attributes, so
    // brokers creating one queue at the same moment all succeed.
    const created = await this.send<{ QueueUrl?: string }>(
      new CreateQueueCommand({ QueueName: name, Attributes: creation.attributes }),
      { operation: 'CreateQueue', queue: name },
    );
    return created.QueueUrl;
  }
}
