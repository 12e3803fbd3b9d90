/**
 * What travels on the events and control channels: one signed frame per message (core's FrameCodec, the
 * deployment's secret), so nobody without the secret can forge an event or a control command. A frame
 * that fails verification or does not have one of these shapes is dropped and counted by the reader.
 */
import { controlChannel, FrameCodec, type ResolvedConfig, type TasqEvent } from '@tasq/core';

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

export interface ControlRequestMessage {
  kind: 'control';
  /** Unique per request: replies name it, and a cluster answers each id once (a replayed frame is ignored). */
  requestId: string;
  command: ControlCommand;
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
        return typeof message.requestId === 'string' && CONTROL_COMMANDS.includes(message.command)
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
