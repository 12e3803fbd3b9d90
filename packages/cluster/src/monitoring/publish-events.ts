/**
 * Publishing monitoring events from outside a cluster (the dashboard's audit trail), signed like a
 * cluster's own, so `tasq events` and every other subscriber read them with the rest.
 */
import type { ResolvedConfig, TasqEvent } from '@tasq/core';
import type { PubSub } from '@tasq/core/backend';
import { eventsChannel } from '@tasq/core/internal';
import { WireCodec } from './wire.js';

/** Send `events` in one signed message on the deployment's events channel. */
export async function publishEvents(
  config: ResolvedConfig,
  pubsub: PubSub,
  events: readonly TasqEvent[],
): Promise<void> {
  const frame = WireCodec.for(config).encode({ kind: 'events', events: [...events] });
  await pubsub.publish(eventsChannel(config.name), frame);
}
