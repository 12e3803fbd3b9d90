/**
 * Names and arguments of everything this broker declares on the server. For a tasq queue `q`:
 *
 * - `q`             the work queue (durable; classic with `x-max-priority`, or quorum), dead-lettering
 *                   into `q.dead` (what the server itself dead-letters: quorum `x-delivery-limit`, ...);
 * - `q.dead`        dead packages, each with its reason in the `tasq-dead-reason` header;
 * - `q.delay.<2^k>` the delay ladder: DELAY_LEVELS classic queues whose `x-message-ttl` is 2^k ms.
 *
 * Delays without plugins: one queue per distinct delay would make a queue per `eta`, and per-message
 * TTL in one queue only expires at the head (a 1 h package would hold back a 1 s one). So a delay is
 * split into its binary digits: the package sits in level k for 2^k ms for each set bit k, highest
 * first. Every queue of one level has the same TTL, so head-of-line expiry is exact. The route is the
 * routing key: one word per bit (highest first), then the work queue's name. Level exchange
 * `<prefix>.delay.<k>` (topic) sends a key whose bit k is 1 to `q.delay.<2^k>` and one whose bit k
 * is 0 on to the next level's exchange; an expired package is dead-lettered, its key unchanged, to the
 * next level too. After level 0 comes `<prefix>.delay.deliver`, bound per queue to the work queue.
 * A delay of d ms thus makes at most popcount(d) hops and arrives no earlier than d ms.
 */
import { InvalidArgumentError } from '@tasq/core/backend';
import type { Options } from 'amqplib';
import type { RabbitMqQueueType } from './rabbitmq-options.js';

/** Levels of the delay ladder: delays up to 2^28 - 1 ms (74.5 h); core re-delays longer ones in hops. */
export const DELAY_LEVELS = 28;
export const MAX_DELAY_MS = 2 ** DELAY_LEVELS - 1;

/** Headers this broker sets on packages. */
export const HEADERS = {
  /** Deliveries before the package was last published again (release with delay, classic release). */
  priorDeliveries: 'tasq-deliveries',
  deadReason: 'tasq-dead-reason',
  deadAt: 'tasq-dead-at',
  deadFrom: 'tasq-dead-from',
  /** The job's label (`EnqueueOptions.labels`), for dead-letter listings. */
  jobId: 'tasq-job-id',
  task: 'tasq-task',
  expiresAt: 'tasq-expires-at',
  /** Quorum queues: returns (nacks, channel closes) of this message so far; absent on the first delivery. */
  quorumDeliveryCount: 'x-delivery-count',
} as const;

/** Longest dead-letter reason kept in a header; amqplib refuses header tables over 64 KiB. */
export const MAX_REASON_CHARS = 4096;

export function deadQueueName(queue: string): string {
  return `${queue}.dead`;
}

export function delayQueueName(queue: string, level: number): string {
  return `${queue}.delay.${2 ** level}`;
}

export function delayExchangeName(prefix: string, level: number): string {
  return `${prefix}.delay.${level}`;
}

export function deliverExchangeName(prefix: string): string {
  return `${prefix}.delay.deliver`;
}

/** Core allows letters, digits and `_.:-` in queue names; AMQP reserves `amq.`. */
const QUEUE_NAME = /^[A-Za-z0-9_.:-]{1,120}$/;

export function checkQueueName(queue: string): void {
  if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
    throw new InvalidArgumentError(
      `queue name must be 1-120 letters, digits, "_", ".", ":" or "-", got ${JSON.stringify(queue)}`,
    );
  }
  if (queue.startsWith('amq.')) {
    throw new InvalidArgumentError(`queue name "${queue}" starts with "amq.", which RabbitMQ reserves`);
  }
}

/** One topic word for the queue name: dots separate words, so they become `~` (not allowed in names). */
function queueWord(queue: string): string {
  return queue.replaceAll('.', '~');
}

/** The set bits of `delayMs`, highest first. */
export function delayLevels(delayMs: number): number[] {
  const levels: number[] = [];
  for (let level = DELAY_LEVELS - 1; level >= 0; level--) {
    if (Math.floor(delayMs / 2 ** level) % 2 === 1) levels.push(level);
  }
  return levels;
}

/** Routing key of a delayed package: its bits, highest level first, then the queue's word. */
export function delayRoutingKey(queue: string, delayMs: number): string {
  const words: string[] = [];
  for (let level = DELAY_LEVELS - 1; level >= 0; level--) {
    words.push(Math.floor(delayMs / 2 ** level) % 2 === 1 ? '1' : '0');
  }
  words.push(queueWord(queue));
  return words.join('.');
}

/** Binding pattern on one level's exchange: `bit` at `level`'s word, anything elsewhere, then `tail`. */
function levelPattern(level: number, bit: '0' | '1', tail: string): string {
  const words: string[] = [];
  for (let l = DELAY_LEVELS - 1; l >= 0; l--) words.push(l === level ? bit : '*');
  if (bit === '0') return `${words.slice(0, DELAY_LEVELS - level).join('.')}.#`;
  words.push(tail);
  return words.join('.');
}

/** Pattern on a level exchange that takes a key whose bit `level` is 1 into `queue`'s level queue. */
export function delayQueuePattern(queue: string, level: number): string {
  return levelPattern(level, '1', queueWord(queue));
}

/** Pattern on a level exchange that passes a key whose bit `level` is 0 on to the next level. */
export function passOnPattern(level: number): string {
  return levelPattern(level, '0', '');
}

/** Pattern on the deliver exchange that takes `queue`'s packages into the work queue. */
export function deliverPattern(queue: string): string {
  return `${Array.from({ length: DELAY_LEVELS }, () => '*').join('.')}.${queueWord(queue)}`;
}

export interface QueueShape {
  queueType: RabbitMqQueueType;
  maxPriority: number;
  deliveryLimit: number | undefined;
}

/** Arguments of the work queue. Changing them later makes the declaration fail (406 inequivalent arg). */
export function workQueueOptions(queue: string, shape: QueueShape): Options.AssertQueue {
  const args: Record<string, unknown> = {
    'x-queue-type': shape.queueType,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': deadQueueName(queue),
  };
  if (shape.queueType === 'classic' && shape.maxPriority > 0) args['x-max-priority'] = shape.maxPriority;
  if (shape.deliveryLimit !== undefined) args['x-delivery-limit'] = shape.deliveryLimit;
  return { durable: true, arguments: args };
}

export function deadQueueOptions(shape: QueueShape): Options.AssertQueue {
  return { durable: true, arguments: { 'x-queue-type': shape.queueType } };
}

/**
 * A delay level queue. Always classic: a quorum queue per level would be DELAY_LEVELS Raft groups per
 * work queue, and quorum TTL dead-lettering is at-most-once by default anyway.
 */
export function delayQueueOptions(prefix: string, level: number): Options.AssertQueue {
  return {
    durable: true,
    arguments: {
      'x-queue-type': 'classic',
      'x-message-ttl': 2 ** level,
      'x-dead-letter-exchange':
        level === 0 ? deliverExchangeName(prefix) : delayExchangeName(prefix, level - 1),
    },
  };
}
