/**
 * Pub/sub on a SQLite file, for monitoring events and remote control on the embedded default. SQLite
 * cannot push to another process, so a message is a row of `messages`; each subscribing client reads
 * the rows after the last one it saw when something may have arrived: at once for a publish in the same
 * process, within the 20 ms change check (`PRAGMA data_version`) for another process's, at the latest
 * at the poll interval. At most once and only to subscribers listening at the time, like NOTIFY:
 * publishers prune rows older than a minute.
 */
import { type Clock, InvalidArgumentError, type PubSub, type Subscription } from '@tasq/core/backend';
import { mapDatabaseError } from '../orm-errors.js';
import type { Wakeup } from '../wakeups.js';
import type { SqliteDialect } from './sqlite-dialect.js';

/** Messages stay this long for subscribers that are behind; then publishers delete them. */
const retentionMs = 60_000;
/** Publishers prune at most this often. */
const pruneEveryMs = 10_000;
/** Rows read per statement while catching up. */
const readBatch = 500;

interface Handler {
  onMessage(message: Uint8Array): void;
  /** Only messages after this id: the newest when the subscription was made. */
  after: number;
}

export class SqlitePubSub implements PubSub {
  readonly name = 'sqlite';
  /** A blob of any size fits; one megabyte keeps a stray message from filling the file. */
  readonly maxMessageBytes = 1_048_576;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly stopping = new AbortController();
  private wakeup: Wakeup | undefined;
  private reading: Promise<void> | undefined;
  private started: Promise<void> | undefined;
  private lastSeen = 0;
  private lastPrunedAt = 0;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly dialect: SqliteDialect,
    private readonly clock: Clock,
  ) {}

  /** Store `message` for every current subscriber of `channel`, this client's own included. */
  async publish(channel: string, message: Uint8Array): Promise<void> {
    this.check(channel);
    if (!(message instanceof Uint8Array))
      throw new InvalidArgumentError('a pub/sub message must be a Uint8Array');
    if (message.byteLength > this.maxMessageBytes) {
      throw new InvalidArgumentError(
        `pub/sub message of ${message.byteLength} bytes exceeds the SQLite pub/sub limit of ${this.maxMessageBytes} bytes`,
      );
    }
    const now = this.clock.now();
    try {
      await this.dialect.execute('publish', { channel, body: message, now });
      if (now - this.lastPrunedAt >= pruneEveryMs) {
        this.lastPrunedAt = now;
        await this.dialect.execute('messages-prune', { before: now - retentionMs });
      }
    } catch (error) {
      throw mapDatabaseError(error, `publish on channel "${channel}"`, this.dialect.address);
    }
    this.dialect.announce('messages', '');
  }

  /** Call `onMessage` for each message published on `channel` from now on. */
  async subscribe(channel: string, onMessage: (message: Uint8Array) => void): Promise<Subscription> {
    this.check(channel);
    let latest: number;
    try {
      latest = Number((await this.dialect.execute('messages-latest', {})).rows[0]?.latest ?? 0);
    } catch (error) {
      throw mapDatabaseError(error, `subscribe to channel "${channel}"`, this.dialect.address);
    }
    // The first subscription starts the one reader of this client; later ones join it.
    this.started ??= this.dialect.subscribe('messages', '').then((wakeup) => {
      this.wakeup = wakeup;
      this.lastSeen = latest;
      this.reading = this.readUntilClosed(wakeup);
    });
    await this.started;
    const handler: Handler = { onMessage, after: latest };
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    return {
      unsubscribe: async () => {
        const current = this.handlers.get(channel);
        current?.delete(handler);
        if (current?.size === 0) this.handlers.delete(channel);
      },
    };
  }

  private async readUntilClosed(wakeup: Wakeup): Promise<void> {
    while (!this.stopping.signal.aborted) {
      await wakeup.wait(this.dialect.pollMs, this.stopping.signal);
      if (this.stopping.signal.aborted) return;
      try {
        await this.deliverNew();
      } catch {
        // A busy or closing file: the next wake-up reads again from the same place.
      }
    }
  }

  private async deliverNew(): Promise<void> {
    for (;;) {
      const { rows } = await this.dialect.execute('messages-since', {
        after: this.lastSeen,
        limit: readBatch,
      });
      for (const row of rows) {
        const id = Number(row.id);
        this.lastSeen = id;
        const handlers = this.handlers.get(String(row.channel));
        if (!handlers) continue;
        const body = row.body as Uint8Array;
        for (const handler of handlers) if (id > handler.after) handler.onMessage(body);
      }
      if (rows.length < readBatch) return;
    }
  }

  /** End every subscription and release the connection. Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping.abort();
      this.handlers.clear();
      await this.started?.catch(() => undefined);
      await this.reading;
      this.wakeup?.close();
      await this.dialect.release();
    })();
    return this.closed;
  }

  private check(channel: string): void {
    if (this.closed) throw new InvalidArgumentError('the sqlite pub/sub is closed');
    if (typeof channel !== 'string' || channel.length === 0) {
      throw new InvalidArgumentError('a pub/sub channel must be a non-empty string');
    }
  }
}
