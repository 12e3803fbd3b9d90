/**
 * What travels on the events and control channels: one signed frame per message (core's FrameCodec, the
 * deployment's secret), so nobody without the secret can forge an event or a control command. A frame
 * that fails verification or does not have one of these shapes is dropped and counted by the reader.
 */
import { createHash } from 'node:crypto';
import {
  PackageRejectedError,
  type PackageRejectionReason,
  type ResolvedConfig,
  type TasqEvent,
} from '@tasq/core';
import { controlChannel, FrameCodec } from '@tasq/core/internal';

/** A batch of monitoring events from one cluster. */
export interface EventBatchMessage {
  kind: 'events';
  events: TasqEvent[];
}

export type ControlCommand = 'ping' | 'stats' | 'shutdown' | 'restart' | 'pool-grow' | 'pool-shrink';
export const CONTROL_COMMANDS: readonly ControlCommand[] = [
  'ping',
  'stats',
  'shutdown',
  'restart',
  'pool-grow',
  'pool-shrink',
];

/**
 * Commands the runtime sends for itself rather than an operator through `tasq control`: `cancel-job`
 * pushes an operator's cancel to the cluster running the job (the persisted mark stays the guarantee).
 */
export type JobControlCommand = 'cancel-job';
export const JOB_CONTROL_COMMANDS: readonly JobControlCommand[] = ['cancel-job'];

export interface ControlRequestMessage {
  kind: 'control';
  /** Unique per request: replies name it, and a cluster answers each id once (a replayed frame is ignored). */
  requestId: string;
  command: ControlCommand | JobControlCommand;
  /** cancel-job: the job, and the reason its run's signal aborts with. */
  jobId?: string;
  reason?: string;
  /** pool-grow / pool-shrink: by how many workers. */
  count?: number;
  /** Only clusters whose name (`default`, an alt cluster) or full id (`name@host:pid`) is this. */
  target?: string;
  /** Epoch ms; clusters ignore requests older than REQUEST_MAX_AGE_MS (a frame replayed later does nothing). */
  sentAt: number;
}

export interface ControlReplyMessage {
  kind: 'reply';
  requestId: string;
  /** The answering cluster's id. */
  cluster: string;
  ok: boolean;
  /** What the command reports (ping: uptime; stats: counters and workers; pool-*: the new size). */
  result?: Record<string, unknown>;
  error?: string;
}

export type WireMessage = EventBatchMessage | ControlRequestMessage | ControlReplyMessage;

/**
 * What a cluster answers to a control request signed with a key it does not have: which request (its
 * fingerprint), which cluster, and the ids of the keys the cluster has. Key ids are no secret (every
 * frame carries its signer's in its header); they let `tasq check` say that the secrets differ instead
 * of hearing nothing. Plain JSON, not a frame: the asker could not verify this cluster's signature, and
 * nothing in a notice is acted upon; it is only reported.
 */
export interface KeyMismatchNotice {
  kind: 'key-mismatch';
  /** `requestFingerprint` of the request that could not be verified. */
  probe: string;
  cluster: string;
  keyIds: string[];
}

/** A short digest of a request's bytes: how a key-mismatch notice names the request it answers. */
export function requestFingerprint(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export function encodeKeyMismatch(notice: KeyMismatchNotice): Uint8Array {
  return Buffer.from(JSON.stringify(notice));
}

/** The notice in `bytes`, or undefined when they are not one (any frame, anything malformed or oversized). */
export function decodeKeyMismatch(bytes: Uint8Array): KeyMismatchNotice | undefined {
  // A notice is a few hundred bytes; a frame starts with its format version byte, not "{".
  if (bytes.byteLength > 4_096 || bytes[0] !== 0x7b) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  const notice = value as Partial<KeyMismatchNotice>;
  const isText = (text: unknown, pattern: RegExp) => typeof text === 'string' && pattern.test(text);
  if (
    notice?.kind !== 'key-mismatch' ||
    !isText(notice.probe, /^[0-9a-f]{16}$/) ||
    !isText(notice.cluster, /^[^\s]{1,300}$/) ||
    !Array.isArray(notice.keyIds) ||
    notice.keyIds.length > 16 ||
    !notice.keyIds.every((id) => isText(id, /^[0-9a-f]{8}$/))
  ) {
    return undefined;
  }
  return { kind: 'key-mismatch', probe: notice.probe!, cluster: notice.cluster!, keyIds: notice.keyIds };
}

/** A control request is acted on only this long after it was sent. */
export const REQUEST_MAX_AGE_MS = 30_000;

export function replyChannel(deployment: string): string {
  return `${controlChannel(deployment)}.replies`;
}

/** Encode and verify wire messages with the deployment's secrets (newest signs, any verifies). */
export class WireCodec {
  private readonly frames: FrameCodec;

  constructor(secrets: readonly string[]) {
    this.frames = new FrameCodec({ secret: secrets, serializer: 'json' });
  }

  static for(config: Pick<ResolvedConfig, 'secrets'>): WireCodec {
    return new WireCodec(config.secrets);
  }

  encode(message: WireMessage): Uint8Array {
    return this.frames.encode(message);
  }

  /** Why a frame that `decode` refused was refused (`unknown-key`: signed with a secret this codec lacks). */
  rejectionOf(bytes: Uint8Array): PackageRejectionReason | undefined {
    try {
      this.frames.decode(bytes);
      return undefined;
    } catch (error) {
      return error instanceof PackageRejectedError ? error.reason : 'malformed-payload';
    }
  }

  /** The message, or undefined when the frame is unsigned, signed with another secret, or malformed. */
  decode(bytes: Uint8Array): WireMessage | undefined {
    let value: unknown;
    try {
      value = this.frames.decode(bytes);
    } catch {
      return undefined;
    }
    if (typeof value !== 'object' || value === null) return undefined;
    const message = value as WireMessage;
    switch (message.kind) {
      case 'events':
        return Array.isArray(message.events) ? message : undefined;
      case 'control':
        return typeof message.requestId === 'string' &&
          (CONTROL_COMMANDS.includes(message.command as ControlCommand) ||
            JOB_CONTROL_COMMANDS.includes(message.command as JobControlCommand))
          ? message
          : undefined;
      case 'reply':
        return typeof message.requestId === 'string' && typeof message.cluster === 'string'
          ? message
          : undefined;
      default:
        return undefined;
    }
  }
}
