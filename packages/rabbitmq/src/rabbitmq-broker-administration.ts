/**
 * The RabbitMQ broker's administration capability: dead letters only. AMQP 0-9-1 cannot look inside a
 * queue without taking its messages, and holds nothing every instance can read without taking it (no
 * key-value store, no listing of queues), so `lookup`, `browse`, `remove`, `pause` and `cancelMarks`
 * are declared false; `size` still counts ready, delayed and dead packages.
 *
 * Dead letters live in `<queue>.dead`, in death order. Every operation reads that queue with
 * `basic.get` on a channel of its own, holding the messages unacknowledged: a message it takes out
 * (requeue, delete, trim) is acked only after its copy is confirmed on the work queue (requeue), and
 * every other message goes back to its place with one `basic.nack` (requeue) when the read ends, or by
 * itself if the process dies meanwhile. So nothing is lost, and two operators never take the same
 * letter: while one holds it, the other does not see it.
 */
import {
  type BrokerAdministration,
  type BrokerAdministrationCapabilities,
  type DeadLetterFilter,
  type DeadLetterRetention,
  checkLimit,
  checkPackageIds,
  checkRequeueRequests,
  InvalidArgumentError,
  optionalCount,
  optionalText,
  type PackageListQuery,
  type PackagePage,
  pageOfDeadLetters,
  parseDeadLetterCursor,
  newestDeathFirst,
  type RequeueRequest,
  type StoredPackage,
} from '@tasq/core/backend';
import type { Channel, GetMessage } from 'amqplib';
import type { RabbitConnection } from './rabbitmq-connection.js';
import { toTasqError } from './rabbitmq-errors.js';
import type { ConfirmPublisher, OutgoingMessage } from './rabbitmq-publisher.js';
import { checkQueueName, deadQueueName, HEADERS } from './rabbitmq-topology.js';

/**
 * Most dead letters one operation reads (and holds in memory) from a dead queue. Beyond it, the oldest
 * this many are what listing, requeueing by id, deleting by id and trimming see.
 */
export const MAX_DEAD_SCAN = 10_000;

/** What the administration needs of its broker. */
export interface RabbitAdministrationHost {
  readonly connection: RabbitConnection;
  readonly publisher: ConfirmPublisher;
  serverQueue(queue: string): string;
  /** The tasq queues this instance enqueued to, reserved from or administered. */
  knownQueues(): Iterable<string>;
  remember(queue: string): void;
  checkOpen(): void;
}

/** One dead letter as read, with the message that holds it on the scan channel. */
interface HeldLetter {
  message: GetMessage;
  stored: StoredPackage;
}

export class RabbitMqBrokerAdministration implements BrokerAdministration {
  readonly capabilities: BrokerAdministrationCapabilities = Object.freeze({
    lookup: false,
    browse: false,
    deadLetters: true,
    remove: false,
    pause: false,
    cancelMarks: false,
  });

  constructor(private readonly host: RabbitAdministrationHost) {}

  async listDead(query: Omit<PackageListQuery, 'states'>): Promise<PackagePage> {
    const queue = this.checkQueue(query?.queue);
    const limit = checkLimit(query.limit);
    const after = query.cursor === undefined ? undefined : parseDeadLetterCursor(query.cursor, 'rabbitmq');
    const task = optionalText('task', query.task);
    const letters =
      (await this.withDeadLetters(queue, 'list the dead letters', (held) => held.map((l) => l.stored))) ?? [];
    return pageOfDeadLetters(letters, { limit, after, task });
  }

  async requeueDead(requests: readonly RequeueRequest[]): Promise<string[]> {
    const wanted = new Map<string, RequeueRequest>();
    for (const request of checkRequeueRequests(requests)) wanted.set(request.packageId, request);
    const requeued: string[] = [];
    for (const queue of this.queuesToSearch()) {
      if (requeued.length === wanted.size) break;
      await this.withDeadLetters(queue, 'requeue dead letters', async (letters, channel) => {
        for (const held of letters) {
          const request = wanted.get(held.stored.packageId);
          if (!request || requeued.includes(request.packageId)) continue;
          // The copy first, confirmed; only then the dead letter goes. A crash in between leaves two
          // copies (the letter stays dead beside the live one), never none.
          await this.host.publisher.publish(
            [this.liveCopy(queue, held.message, request.body)],
            `requeue to "${queue}"`,
          );
          channel.ack(held.message);
          requeued.push(request.packageId);
        }
      });
    }
    return requeued;
  }

  async deleteDead(packageIds: readonly string[]): Promise<string[]> {
    const wanted = new Set(checkPackageIds(packageIds));
    const deleted: string[] = [];
    for (const queue of this.queuesToSearch()) {
      if (deleted.length === wanted.size) break;
      await this.withDeadLetters(queue, 'delete dead letters', (letters, channel) => {
        for (const held of letters) {
          const id = held.stored.packageId;
          if (!wanted.has(id) || deleted.includes(id)) continue;
          channel.ack(held.message);
          deleted.push(id);
        }
      });
    }
    return deleted;
  }

  async purgeDead(filter: DeadLetterFilter): Promise<number> {
    const queue = this.checkQueue(filter?.queue);
    const task = optionalText('task', filter.task);
    if (task === undefined) return this.purgeWhole(queue);
    const deleted = await this.withDeadLetters(queue, 'purge dead letters', (letters, channel) => {
      const victims = letters.filter((held) => held.stored.task === task);
      for (const held of victims) channel.ack(held.message);
      return victims.length;
    });
    return deleted ?? 0;
  }

  async trimDead(queue: string, retention: DeadLetterRetention): Promise<number> {
    this.checkQueue(queue);
    const maxAgeMs = optionalCount('maxAgeMs', retention?.maxAgeMs);
    const maxCount = optionalCount('maxCount', retention?.maxCount);
    const cutoff = maxAgeMs === undefined ? undefined : Date.now() - maxAgeMs;
    const deleted = await this.withDeadLetters(queue, 'trim dead letters', (letters, channel) => {
      const newestFirst = letters.map((held) => held).sort((a, b) => newestDeathFirst(a.stored, b.stored));
      const victims = newestFirst.filter(
        (held, index) =>
          (cutoff !== undefined && (held.stored.deadAt ?? 0) < cutoff) ||
          (maxCount !== undefined && index >= maxCount),
      );
      for (const held of victims) channel.ack(held.message);
      return victims.length;
    });
    return deleted ?? 0;
  }

  /**
   * Read up to {@link MAX_DEAD_SCAN} dead letters of `queue` on a channel of its own, holding them
   * unacknowledged; `act` acks those it takes out; the rest go back to their places. Resolves with what
   * `act` answered, or undefined when the queue does not exist.
   */
  private async withDeadLetters<T>(
    queue: string,
    what: string,
    act: (letters: HeldLetter[], channel: Channel) => Promise<T> | T,
  ): Promise<T | undefined> {
    const context = `${what} of "${queue}"`;
    const dead = deadQueueName(this.host.serverQueue(queue));
    let channel: Channel;
    try {
      const { model } = await this.host.connection.current();
      channel = await model.createChannel();
    } catch (error) {
      throw toTasqError(error, context);
    }
    channel.on('error', () => undefined);
    try {
      const letters: HeldLetter[] = [];
      for (let read = 0; read < MAX_DEAD_SCAN; read++) {
        const message = await channel.get(dead, { noAck: false });
        if (message === false) break;
        letters.push({ message, stored: describe(queue, message) });
      }
      const answer = await act(letters, channel);
      channel.nackAll(true);
      return answer;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toTasqError(error, context);
    } finally {
      // Closing returns whatever is still unacknowledged, should the nack not have gone out.
      await channel.close().catch(() => undefined);
    }
  }

  private async purgeWhole(queue: string): Promise<number> {
    const context = `purge the dead letters of "${queue}"`;
    try {
      const { model } = await this.host.connection.current();
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      try {
        return (await channel.purgeQueue(deadQueueName(this.host.serverQueue(queue)))).messageCount;
      } finally {
        await channel.close().catch(() => undefined);
      }
    } catch (error) {
      if (isNotFound(error)) return 0;
      throw toTasqError(error, context);
    }
  }

  /** A dead letter as a fresh package of its work queue: delivery count reset, label and priority kept. */
  private liveCopy(queue: string, message: GetMessage, body: Uint8Array | undefined): OutgoingMessage {
    const { properties } = message;
    const headers: Record<string, unknown> = {};
    for (const name of [HEADERS.jobId, HEADERS.task, HEADERS.expiresAt]) {
      const value = properties.headers?.[name];
      if (value !== undefined) headers[name] = value;
    }
    const content =
      body === undefined ? message.content : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return {
      exchange: '',
      routingKey: this.host.serverQueue(queue),
      content,
      properties: {
        persistent: true,
        messageId: properties.messageId,
        headers,
        ...(typeof properties.priority === 'number' && properties.priority > 0
          ? { priority: properties.priority }
          : {}),
      },
    };
  }

  private queuesToSearch(): string[] {
    this.host.checkOpen();
    return [...this.host.knownQueues()];
  }

  private checkQueue(queue: unknown): string {
    this.host.checkOpen();
    if (typeof queue !== 'string') throw new InvalidArgumentError('a queue name (string) is needed');
    checkQueueName(queue);
    this.host.remember(queue);
    return queue;
  }
}

/** A dead letter's message as a stored package. */
function describe(queue: string, message: GetMessage): StoredPackage {
  const { properties } = message;
  const headers = properties.headers ?? {};
  const text = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined);
  const number = (name: string) => {
    const value = headers[name];
    return typeof value === 'number' || typeof value === 'bigint' ? Number(value) : undefined;
  };
  const jobId = text(HEADERS.jobId);
  const task = text(HEADERS.task);
  const expiresAt = number(HEADERS.expiresAt);
  // A letter the server dead-lettered itself (a quorum delivery limit) has no tasq headers: its
  // x-death entry says when and why.
  const death = Array.isArray(headers['x-death'])
    ? (headers['x-death'][0] as unknown as Record<string, unknown>)
    : {};
  const serverTime = death?.time instanceof Date ? death.time.getTime() : Number.NaN;
  const tasqTime = Date.parse(text(HEADERS.deadAt) ?? '');
  const deadAt = Number.isNaN(tasqTime) ? serverTime : tasqTime;
  return {
    packageId: typeof properties.messageId === 'string' ? properties.messageId : '',
    ...(jobId !== undefined ? { jobId } : {}),
    ...(task !== undefined ? { task } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    queue,
    state: 'dead',
    deliveries: number(HEADERS.priorDeliveries) ?? 0,
    ...(typeof properties.priority === 'number' ? { priority: properties.priority } : {}),
    deadAt: Number.isNaN(deadAt) ? 0 : deadAt,
    deadReason: text(HEADERS.deadReason) ?? text('x-first-death-reason') ?? '',
    body: new Uint8Array(message.content.buffer, message.content.byteOffset, message.content.byteLength),
  };
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === 404 || code === 'BROKER_NOT_FOUND';
}
