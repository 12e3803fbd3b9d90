/**
 * A TCP proxy that adds latency to a server's replies: a slow network, or a client that reads its
 * answers late, without touching the server or the client. Requests go through at once; every chunk the
 * server sends is handed on `delayMs` after it arrived, in order. The delay can change while the proxy
 * runs (a chunk never overtakes an earlier one when it is lowered).
 */
import { createServer, type Server, type Socket, connect } from 'node:net';

export interface DelayingProxyOptions {
  /** Where the real server listens. */
  target: { host?: string; port: number };
  /** Latency added to every reply chunk, in milliseconds. Default 0. */
  delayMs?: number;
}

export interface DelayingProxy {
  readonly host: string;
  readonly port: number;
  /** The latency added now. */
  readonly delayMs: number;
  /** Add `delayMs` to every reply chunk from now on (chunks already waiting keep their time). */
  setDelay(delayMs: number): void;
  /** Connections open through the proxy now. */
  readonly connections: number;
  /** Stop listening and cut every connection. */
  close(): Promise<void>;
}

/** Start a proxy to `options.target` on a spare port of 127.0.0.1; resolves once it listens. */
export async function startDelayingProxy(options: DelayingProxyOptions): Promise<DelayingProxy> {
  let delayMs = checkDelay(options.delayMs ?? 0);
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: options.target.host ?? '127.0.0.1', port: options.target.port });
    const pair = { client, upstream };
    pairs.add(pair);
    const replies = new DelayedStream(client);
    client.on('data', (chunk) => upstream.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('data', (chunk) => replies.push(chunk, delayMs));
    upstream.on('end', () => replies.end(delayMs));
    const cut = () => {
      pairs.delete(pair);
      replies.cancel();
      client.destroy();
      upstream.destroy();
    };
    client.on('error', cut);
    upstream.on('error', cut);
    client.on('close', cut);
    upstream.on('close', () => {
      // A reply still waiting is delivered before the client is cut off.
      replies.whenDrained(cut);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the proxy has no address');
  return {
    host: address.address,
    port: address.port,
    get delayMs() {
      return delayMs;
    },
    setDelay(ms: number) {
      delayMs = checkDelay(ms);
    },
    get connections() {
      return pairs.size;
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await closed;
    },
  };
}

function checkDelay(ms: number): number {
  if (!(Number.isFinite(ms) && ms >= 0)) {
    throw new RangeError(`delayMs must be a number of milliseconds, 0 or more, got ${ms}`);
  }
  return ms;
}

/** Chunks written to `socket` each at its own due time, never out of order. */
class DelayedStream {
  private readonly waiting: { dueAt: number; chunk?: Buffer; end?: true }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private onDrained: (() => void) | undefined;

  constructor(private readonly socket: Socket) {}

  push(chunk: Buffer, delayMs: number): void {
    this.enqueue({ dueAt: Date.now() + delayMs, chunk });
  }

  end(delayMs: number): void {
    this.enqueue({ dueAt: Date.now() + delayMs, end: true });
  }

  whenDrained(callback: () => void): void {
    if (this.waiting.length === 0) callback();
    else this.onDrained = callback;
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.waiting.length = 0;
  }

  private enqueue(item: { dueAt: number; chunk?: Buffer; end?: true }): void {
    this.waiting.push(item);
    if (!this.timer) this.schedule();
  }

  private schedule(): void {
    const next = this.waiting[0];
    if (!next) {
      this.timer = undefined;
      const drained = this.onDrained;
      this.onDrained = undefined;
      drained?.();
      return;
    }
    this.timer = setTimeout(() => this.flush(), Math.max(0, next.dueAt - Date.now()));
  }

  /** Writes what is due, from the head only: after a lowered delay a chunk waits for those before it. */
  private flush(): void {
    const now = Date.now();
    while (this.waiting.length > 0 && this.waiting[0]!.dueAt <= now) {
      const item = this.waiting.shift()!;
      if (this.socket.destroyed) continue;
      if (item.chunk) this.socket.write(item.chunk);
      if (item.end) this.socket.end();
    }
    this.schedule();
  }
}
