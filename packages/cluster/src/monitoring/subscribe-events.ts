/**
 * Reading monitoring events in-process, as an async iterator:
 *
 *   const events = await subscribeEvents(tasq);
 *   for await (const event of events) if (event.type === 'task-failed') console.warn(event.name, event.error);
 *
 * Only events signed with the deployment's secret come through; others are counted (`rejected`).
 * A reader slower than the clusters loses the oldest events past `bufferSize` (counted in `dropped`)
 * rather than holding memory without bound.
 */
import { CapabilityError, type ResolvedConfig, Tasq, type TasqEvent, type TasqEventType } from '@tasq/core';
import type { PubSub, Subscription } from '@tasq/core/backend';
import { eventsChannel } from '@tasq/core/internal';
import { openPubSub } from './open-pubsub.js';
import { WireCodec } from './wire.js';

export interface SubscribeEventsOptions {
  /** Only these event types. Default all. */
  types?: readonly TasqEventType[];
  /** Events kept for a slow reader; the oldest go first. Default 10,000. */
  bufferSize?: number;
  /** Ends the iteration. */
  signal?: AbortSignal;
  /** Where the broker package is resolved from. Default process.cwd(). */
  cwd?: string;
  /** Read from this pub/sub instead of opening the configured broker's (it is not closed). */
  pubsub?: PubSub;
}

export interface EventStream extends AsyncIterableIterator<TasqEvent> {
  /** Stop listening and end the iteration. Idempotent. */
  close(): Promise<void>;
  /** Events lost because the reader was slower than `bufferSize` allows. */
  readonly dropped: number;
  /** Messages ignored: not signed with this deployment's secret, or not events. */
  readonly rejected: number;
}

/** Subscribe to the deployment's monitoring events. Throws CapabilityError when the broker has no pub/sub. */
export async function subscribeEvents(
  source: Tasq | ResolvedConfig,
  options: SubscribeEventsOptions = {},
): Promise<EventStream> {
  const config = source instanceof Tasq ? source.config : source;
  const own = options.pubsub === undefined;
  const pubsub =
    options.pubsub ?? (await openPubSub(config, options.cwd !== undefined ? { cwd: options.cwd } : {}));
  if (!pubsub) {
    throw new CapabilityError(
      `the broker "${config.broker.module}" has no pub/sub, so there is no event stream; clusters store their stats in the result backend instead (tasq monitor reads them)`,
    );
  }
  const codec = WireCodec.for(config);
  const types = options.types ? new Set(options.types) : undefined;
  const bufferSize = options.bufferSize ?? 10_000;
  const queue: TasqEvent[] = [];
  let waiter: ((result: IteratorResult<TasqEvent>) => void) | undefined;
  let closed = false;
  let dropped = 0;
  let rejected = 0;
  let subscription: Subscription | undefined;

  const deliver = (event: TasqEvent) => {
    if (types && !types.has(event.type)) return;
    if (waiter) {
      const wake = waiter;
      waiter = undefined;
      wake({ value: event, done: false });
      return;
    }
    queue.push(event);
    if (queue.length > bufferSize) {
      queue.shift();
      dropped++;
    }
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    options.signal?.removeEventListener('abort', onAbort);
    waiter?.({ value: undefined, done: true });
    waiter = undefined;
    await subscription?.unsubscribe();
    if (own) await pubsub.close();
  };
  const onAbort = () => void close();

  try {
    subscription = await pubsub.subscribe(eventsChannel(config.name), (bytes) => {
      if (closed) return;
      const message = codec.decode(bytes);
      if (message?.kind !== 'events') {
        rejected++;
        return;
      }
      for (const event of message.events) deliver(event);
    });
  } catch (error) {
    if (own) await pubsub.close();
    throw error;
  }
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const stream: EventStream = {
    get dropped() {
      return dropped;
    },
    get rejected() {
      return rejected;
    },
    close,
    next() {
      const event = queue.shift();
      if (event) return Promise.resolve({ value: event, done: false });
      if (closed) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiter = resolve;
      });
    },
    async return() {
      await close();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
