/**
 * The operator's side of remote control (`tasq control`, or `sendControl` in code): publish one signed
 * request on `controlChannel(name)` and collect the answers of every matching cluster until the timeout.
 */
import { randomUUID } from 'node:crypto';
import { CapabilityError, type ResolvedConfig, Tasq } from '@tasq/core';
import { controlChannel } from '@tasq/core/internal';
import { openPubSub } from './open-pubsub.js';
import {
  type ControlCommand,
  type JobControlCommand,
  type ControlReplyMessage,
  decodeKeyMismatch,
  type KeyMismatchNotice,
  replyChannel,
  requestFingerprint,
  WireCodec,
} from './wire.js';

export interface SendControlOptions {
  command: ControlCommand | JobControlCommand;
  /** cancel-job: the job to stop and why. */
  jobId?: string;
  reason?: string;
  /** pool-grow / pool-shrink: by how many workers. Default 1. */
  count?: number;
  /** Only the cluster with this name (or full id `name@host:pid`). Default every cluster. */
  cluster?: string;
  /** How long to collect answers. Default 2 s. */
  timeoutMs?: number;
  /** Where the broker package is resolved from. Default process.cwd(). */
  cwd?: string;
  /** Stop waiting once this many clusters answered (when the caller knows how many there are). */
  expectReplies?: number;
}

export type ControlReply = Omit<ControlReplyMessage, 'kind'>;

/** Send a control command; resolves with every answer that arrived in time (none: no matching cluster). */
export async function sendControl(
  source: Tasq | ResolvedConfig,
  options: SendControlOptions,
): Promise<ControlReply[]> {
  return (await requestControl(source, options)).replies;
}

/**
 * `sendControl`, with what the clusters that could not verify the request said: a cluster that has not
 * this configuration's key answers with a key-mismatch notice naming its key ids, never with a reply.
 */
export async function requestControl(
  source: Tasq | ResolvedConfig,
  options: SendControlOptions,
): Promise<{ replies: ControlReply[]; keyMismatches: KeyMismatchNotice[] }> {
  const config = source instanceof Tasq ? source.config : source;
  const pubsub = await openPubSub(config, options.cwd !== undefined ? { cwd: options.cwd } : {});
  if (!pubsub) {
    throw new CapabilityError(
      `the broker "${config.broker.module}" has no pub/sub, so clusters cannot be controlled remotely`,
    );
  }
  const codec = WireCodec.for(config);
  const requestId = randomUUID();
  const request = codec.encode({
    kind: 'control',
    requestId,
    command: options.command,
    sentAt: Date.now(),
    ...(options.count !== undefined ? { count: options.count } : {}),
    ...(options.jobId !== undefined ? { jobId: options.jobId } : {}),
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    ...(options.cluster !== undefined ? { target: options.cluster } : {}),
  });
  const probe = requestFingerprint(request);
  const replies: ControlReply[] = [];
  const keyMismatches: KeyMismatchNotice[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  try {
    await pubsub.subscribe(replyChannel(config.name), (bytes) => {
      const message = codec.decode(bytes);
      if (!message) {
        const notice = decodeKeyMismatch(bytes);
        if (notice?.probe === probe) keyMismatches.push(notice);
        return;
      }
      if (message.kind !== 'reply' || message.requestId !== requestId) return;
      const { kind: _kind, ...reply } = message;
      replies.push(reply);
      if (options.expectReplies !== undefined && replies.length >= options.expectReplies) done();
    });
    await pubsub.publish(controlChannel(config.name), request);
    const timer = setTimeout(done, options.timeoutMs ?? 2_000);
    await finished;
    clearTimeout(timer);
    return { replies, keyMismatches };
  } finally {
    await pubsub.close();
  }
}
