import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type DelayingProxy, startDelayingProxy } from './delaying-proxy.js';

/** A server that answers every chunk with the same bytes. */
async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return { server, port: address.port };
}

/** Collects what a socket receives, with when each piece arrived. */
function received(socket: Socket): { text: () => string; arrivals: { at: number; text: string }[] } {
  const arrivals: { at: number; text: string }[] = [];
  socket.on('data', (chunk) => arrivals.push({ at: Date.now(), text: chunk.toString() }));
  return { text: () => arrivals.map((arrival) => arrival.text).join(''), arrivals };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('startDelayingProxy', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(delayMs: number): Promise<{ proxy: DelayingProxy; client: Socket }> {
    const echo = await echoServer();
    cleanups.push(() => new Promise<void>((resolve) => echo.server.close(() => resolve())));
    const proxy = await startDelayingProxy({ target: { port: echo.port }, delayMs });
    cleanups.push(() => proxy.close());
    const client = connect({ host: proxy.host, port: proxy.port });
    cleanups.push(() => void client.destroy());
    await once(client, 'connect');
    return { proxy, client };
  }

  it('hands each reply on no sooner than the delay after it was sent', async () => {
    const { client } = await setup(300);
    const replies = received(client);
    const sentAt = Date.now();
    client.write('ping');
    await until(() => replies.text() === 'ping', 'the reply');
    // A timer may fire a millisecond early; the reply can never come before the delay otherwise.
    expect(replies.arrivals[0]!.at - sentAt).toBeGreaterThanOrEqual(295);
  });

  it('changes its delay while running, without letting a reply overtake an earlier one', async () => {
    const { proxy, client } = await setup(0);
    const replies = received(client);
    client.write('a');
    await until(() => replies.text() === 'a', 'the first reply');
    proxy.setDelay(400);
    expect(proxy.delayMs).toBe(400);
    client.write('b');
    // Wait until the proxy holds "b", then lower the delay: "c" must still come after "b".
    await new Promise((resolve) => setTimeout(resolve, 100));
    proxy.setDelay(0);
    client.write('c');
    await until(() => replies.text() === 'abc', 'all replies, in order');
    expect(proxy.connections).toBe(1);
  });

  it('refuses a negative delay and cuts every connection when closed', async () => {
    const { proxy, client } = await setup(0);
    expect(() => proxy.setDelay(-1)).toThrow(/delayMs must be a number of milliseconds, 0 or more/);
    const closed = once(client, 'close');
    await proxy.close();
    await closed;
    expect(proxy.connections).toBe(0);
  });
});
