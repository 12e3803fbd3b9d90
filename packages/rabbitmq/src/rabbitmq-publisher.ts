/**
 * Publishing with publisher confirms: a publish resolves only when the server has taken responsibility
 * for the message (for a persistent message on a durable queue: written to disk, or replicated to a
 * quorum). Every publish is `mandatory`, so a message no queue takes comes back as `basic.return`
 * (sent before its confirm) and fails instead of vanishing.
 */
import { once } from 'node:events';
import type { ConfirmChannel, Options } from 'amqplib';
import type { RabbitConnection } from './rabbitmq-connection.js';
import { toTasqError, unroutable } from './rabbitmq-errors.js';

export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  content: Buffer;
  properties: Options.Publish & { messageId: string };
}

export class ConfirmPublisher {
  private channel: ConfirmChannel | undefined;
  private opening: Promise<ConfirmChannel> | undefined;
  /** Message ids the server returned as unroutable; checked when their confirm arrives. */
  private readonly returned = new Set<string>();

  constructor(private readonly connection: RabbitConnection) {}

  /**
   * Publish every message and wait for all confirms. Rejects with the first failure; a
   * `BrokerConnectionError` means the channel closed before every confirm arrived, so some messages
   * may be stored and others not (the caller retries the call: at-least-once, never lost).
   */
  async publish(messages: readonly OutgoingMessage[], context: string): Promise<void> {
    const channel = await this.open(context);
    const confirms: Promise<void>[] = [];
    try {
      for (const message of messages) {
        let accepted = true;
        confirms.push(
          new Promise<void>((resolve, reject) => {
            accepted = channel.publish(
              message.exchange,
              message.routingKey,
              message.content,
              { ...message.properties, mandatory: true },
              (error: unknown) => {
                if (error) return reject(toTasqError(error, context));
                if (this.returned.delete(message.properties.messageId)) {
                  return reject(unroutable(context, message.routingKey));
                }
                resolve();
              },
            );
          }),
        );
        // Past the channel's write high-water mark, let it drain first so a bulk enqueue of thousands
        // does not queue every frame in memory at once.
        if (!accepted) await waitForDrain(channel);
      }
    } catch (error) {
      // publish throws synchronously on a closed channel; confirms already pending fail on their own.
      await Promise.allSettled(confirms);
      throw toTasqError(error, context);
    }
    const results = await Promise.allSettled(confirms);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  private async open(context: string): Promise<ConfirmChannel> {
    if (this.channel) return this.channel;
    this.opening ??= (async () => {
      try {
        const { model } = await this.connection.current();
        const channel = await model.createConfirmChannel();
        channel.on('error', () => undefined);
        channel.on('return', (message) => {
          const id = message.properties.messageId;
          if (typeof id === 'string') this.returned.add(id);
        });
        channel.on('close', () => {
          if (this.channel === channel) this.channel = undefined;
        });
        this.channel = channel;
        return channel;
      } finally {
        this.opening = undefined;
      }
    })();
    try {
      return await this.opening;
    } catch (error) {
      throw toTasqError(error, context);
    }
  }

  async close(): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    if (channel) await channel.close().catch(() => undefined);
  }
}

async function waitForDrain(channel: ConfirmChannel): Promise<void> {
  const closed = once(channel, 'close');
  await Promise.race([once(channel, 'drain'), closed]).catch(() => undefined);
  closed.catch(() => undefined);
}
