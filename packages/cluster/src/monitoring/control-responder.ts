/**
 * The cluster's side of remote control: it listens on `controlChannel(name)`, acts on each signed request
 * meant for it, and answers on the reply channel. A request is acted on once (its id is remembered) and
 * only within REQUEST_MAX_AGE_MS of being sent, so a captured frame replayed later does nothing.
 *
 * A request signed with a key this cluster does not have is never read: the cluster answers it with a
 * key-mismatch notice (the request's fingerprint, its id and its key ids, no secret), at most
 * NOTICES_PER_WINDOW per NOTICE_WINDOW_MS, so `tasq check` can say the secrets differ.
 */
import type { Clock, Logger } from '@tasq/core';
import type { PubSub, Subscription } from '@tasq/core/backend';
import { controlChannel } from '@tasq/core/internal';
import type { ClusterIdentity, ClusterSnapshot } from './snapshot.js';
import {
  type ControlReplyMessage,
  type ControlRequestMessage,
  encodeKeyMismatch,
  REQUEST_MAX_AGE_MS,
  replyChannel,
  requestFingerprint,
  type WireCodec,
} from './wire.js';

/**
 * Key-mismatch notices answer frames nobody verified: a cap keeps a flood of forged frames from making
 * every cluster publish as much. Five per ten seconds is plenty for people running `tasq check`.
 */
const NOTICES_PER_WINDOW = 5;
const NOTICE_WINDOW_MS = 10_000;

/** What the commands do, supplied by the cluster. */
export interface ControlActions {
  snapshot(): ClusterSnapshot;
  /** Set the pool size; returns the size now kept. */
  resize(size: number): number;
  poolSize(): number;
  /** Recycle every worker gracefully; returns how many were asked to. */
  restart(): number;
  /** Begin a graceful stop (the answer goes out first). */
  shutdown(): void;
  /** Stop a job this cluster holds that an operator cancelled; false when it is not held here. */
  cancelJob(jobId: string, reason: string): boolean;
}

export interface ControlResponderOptions {
  pubsub: PubSub;
  codec: WireCodec;
  deployment: string;
  identity: ClusterIdentity;
  actions: ControlActions;
  clock: Clock;
  logger: Logger;
}

export class ControlResponder {
  private subscription: Subscription | undefined;
  private readonly seen = new Map<string, number>();
  private ignoredLoggedAt = 0;
  private ignored = 0;
  private noticesSentAt: number[] = [];

  constructor(private readonly options: ControlResponderOptions) {}

  async start(): Promise<void> {
    this.subscription = await this.options.pubsub.subscribe(
      controlChannel(this.options.deployment),
      (bytes) => void this.onMessage(bytes),
    );
  }

  async close(): Promise<void> {
    await this.subscription?.unsubscribe();
  }

  /** Does a request's target name this cluster? No target: every cluster. */
  matches(target: string | undefined): boolean {
    const { identity } = this.options;
    return (
      target === undefined ||
      target === identity.name ||
      target === identity.id ||
      target === `${identity.name}@${identity.host}`
    );
  }

  private async onMessage(bytes: Uint8Array): Promise<void> {
    const { codec, clock, logger } = this.options;
    const message = codec.decode(bytes);
    if (!message) {
      if (codec.rejectionOf(bytes) === 'unknown-key') await this.noticeKeyMismatch(bytes);
      // Logged at most every 10 s: someone sending forged frames must not flood the log.
      this.ignored++;
      if (clock.now() - this.ignoredLoggedAt >= 10_000) {
        this.ignoredLoggedAt = clock.now();
        logger.warn(
          { ignored: this.ignored },
          'control message ignored: not signed with this deployment’s secret, or malformed',
        );
      }
      return;
    }
    if (message.kind !== 'control' || !this.matches(message.target)) return;
    const now = clock.now();
    if (Math.abs(now - message.sentAt) > REQUEST_MAX_AGE_MS || this.seen.has(message.requestId)) return;
    this.remember(message.requestId, now);
    logger.info({ command: message.command, requestId: message.requestId }, 'control request');
    let reply: ControlReplyMessage;
    try {
      reply = this.reply(message, true, this.act(message));
    } catch (error) {
      reply = { ...this.reply(message, false), error: (error as Error).message };
    }
    try {
      await this.options.pubsub.publish(replyChannel(this.options.deployment), codec.encode(reply));
    } catch (error) {
      logger.warn({ requestId: message.requestId }, `control reply failed: ${(error as Error).message}`);
    }
    if (message.command === 'shutdown' && reply.ok) this.options.actions.shutdown();
  }

  /** Tell the sender of a request signed with another key which keys this cluster has (rate-limited). */
  private async noticeKeyMismatch(request: Uint8Array): Promise<void> {
    const { clock, identity, pubsub, deployment, logger } = this.options;
    const now = clock.now();
    this.noticesSentAt = this.noticesSentAt.filter((at) => now - at < NOTICE_WINDOW_MS);
    if (this.noticesSentAt.length >= NOTICES_PER_WINDOW) return;
    this.noticesSentAt.push(now);
    const notice = encodeKeyMismatch({
      kind: 'key-mismatch',
      probe: requestFingerprint(request),
      cluster: identity.id,
      keyIds: identity.keyIds,
    });
    try {
      await pubsub.publish(replyChannel(deployment), notice);
    } catch (error) {
      logger.warn({}, `key-mismatch notice failed: ${(error as Error).message}`);
    }
  }

  private act(request: ControlRequestMessage): Record<string, unknown> {
    const { actions, identity, clock } = this.options;
    switch (request.command) {
      case 'ping':
        return { uptimeMs: clock.now() - identity.startedAt };
      case 'stats':
        return actions.snapshot() as unknown as Record<string, unknown>;
      case 'restart':
        return { restarting: actions.restart() };
      case 'shutdown':
        return { stopping: true };
      case 'cancel-job': {
        const { jobId, reason } = request;
        if (typeof jobId !== 'string' || jobId === '') throw new Error('cancel-job needs a job id');
        const why = typeof reason === 'string' && reason !== '' ? reason : 'cancelled by an operator';
        return { jobId, stopping: actions.cancelJob(jobId, why) };
      }
      case 'pool-grow':
      case 'pool-shrink': {
        const count = request.count ?? 1;
        if (!Number.isInteger(count) || count < 1)
          throw new Error(`${request.command} needs a positive count`);
        const previous = actions.poolSize();
        const wanted = request.command === 'pool-grow' ? previous + count : previous - count;
        if (wanted < 1) throw new Error(`the pool has ${previous} worker(s); it cannot shrink by ${count}`);
        return { previous, poolSize: actions.resize(wanted) };
      }
    }
  }

  private reply(
    request: ControlRequestMessage,
    ok: boolean,
    result?: Record<string, unknown>,
  ): ControlReplyMessage {
    return {
      kind: 'reply',
      requestId: request.requestId,
      cluster: this.options.identity.id,
      ok,
      ...(result ? { result } : {}),
    };
  }

  private remember(requestId: string, now: number): void {
    this.seen.set(requestId, now);
    if (this.seen.size > 1_000) {
      for (const [id, at] of this.seen) if (now - at > REQUEST_MAX_AGE_MS) this.seen.delete(id);
    }
  }
}
