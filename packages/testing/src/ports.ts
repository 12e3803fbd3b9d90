import { createServer, type Server } from 'node:net';

function listenOnSparePort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * `count` distinct TCP ports on 127.0.0.1 that nothing listens on, picked by the OS. Each is held until
 * all are found, so two never come back the same; then all are released for the caller's server to bind.
 */
export async function freePorts(count: number): Promise<number[]> {
  const held: Server[] = [];
  try {
    for (let i = 0; i < count; i++) held.push(await listenOnSparePort());
    return held.map((server) => {
      const address = server.address();
      if (typeof address !== 'object' || !address) throw new Error('a listening socket has no port');
      return address.port;
    });
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on: for a server of the test's own, or one to find closed. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}
