/**
 * One connection held out of the pool for LISTEN. NOTIFY payloads (a queue name, a job id, or a list of
 * job ids from a batch of saves; see notification-payload.ts) wake the matching waiters through the hub. When the connection drops, every waiter is woken (it re-checks and
 * falls back to its poll timer) and the listener reconnects with backoff (250 ms doubling to 5 s).
 */
import type { Logger } from '@tasq/core/backend';
import type pg from 'pg';
import type { WakeupHub } from '../wakeups.js';
import { decodeWakeKeys } from './notification-payload.js';

const firstRetryMs = 250;
const maxRetryMs = 5_000;

function quoteChannel(channel: string): string {
  return `"${channel.replaceAll('"', '""')}"`;
}

export class PostgresListener {
  private client: pg.PoolClient | undefined;
  private connecting: Promise<pg.PoolClient> | undefined;
  private readonly channels = new Set<string>();
  private readonly listening = new Set<string>();
  /** Pub/sub handlers by channel: called with each raw payload (the hub handles wake-up channels). */
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private retryMs = firstRetryMs;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly hub: WakeupHub,
    private readonly logger: Logger,
  ) {}

  /** Make sure `channel` is listened to; resolves once LISTEN ran, rejects when the server is unreachable. */
  async listen(channel: string): Promise<void> {
    this.channels.add(channel);
    const client = await this.connect();
    if (!this.listening.has(channel)) {
      await client.query(`LISTEN ${quoteChannel(channel)}`);
      this.listening.add(channel);
    }
  }

  /**
   * Call `handler` with every payload notified on `channel` from now on (resolves once LISTEN ran). The
   * returned function removes it, and stops listening when it was the channel's last handler.
   */
  async subscribe(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    let handlers = this.handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.handlers.set(channel, handlers);
    }
    handlers.add(handler);
    try {
      await this.listen(channel);
    } catch (error) {
      await this.unsubscribe(channel, handler);
      throw error;
    }
    return () => this.unsubscribe(channel, handler);
  }

  private async unsubscribe(channel: string, handler: (payload: string) => void): Promise<void> {
    const handlers = this.handlers.get(channel);
    if (!handlers?.delete(handler) || handlers.size > 0) return;
    this.handlers.delete(channel);
    this.channels.delete(channel);
    if (this.listening.delete(channel) && this.client) {
      await this.client.query(`UNLISTEN ${quoteChannel(channel)}`).catch(() => undefined);
    }
  }

  private connect(): Promise<pg.PoolClient> {
    if (this.closed) return Promise.reject(new Error('listener closed'));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<pg.PoolClient> {
    const client = await this.pool.connect();
    const onLost = (error?: Error) => this.lost(client, error);
    client.on('notification', (message) => {
      if (message.payload === undefined) return;
      const handlers = this.handlers.get(message.channel);
      if (handlers) for (const handler of handlers) handler(message.payload);
      else for (const key of decodeWakeKeys(message.payload)) this.hub.signal(message.channel, key);
    });
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      for (const channel of this.channels) await client.query(`LISTEN ${quoteChannel(channel)}`);
    } catch (error) {
      client.removeAllListeners('error');
      client.on('error', () => {});
      client.release(true);
      throw error;
    }
    this.listening.clear();
    for (const channel of this.channels) this.listening.add(channel);
    if (this.closed) {
      client.release(true);
      throw new Error('listener closed');
    }
    this.client = client;
    this.retryMs = firstRetryMs;
    return client;
  }

  private lost(client: pg.PoolClient, error?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.listening.clear();
    client.removeAllListeners('error');
    client.on('error', () => {});
    client.release(error ?? true);
    if (this.closed) return;
    this.logger.warn({ err: error?.message }, 'tasq orm: LISTEN connection lost, reconnecting');
    this.hub.signalAll();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().then(
        () => this.hub.signalAll(),
        () => {
          this.retryMs = Math.min(this.retryMs * 2, maxRetryMs);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.retryTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('error');
      client.on('error', () => {});
      try {
        await client.query('UNLISTEN *');
        client.release();
      } catch {
        client.release(true);
      }
    }
  }
}
