import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@tasq/testing';
import { Redis } from 'ioredis';

/**
 * A redis-server of the test's own, on a spare port with a temporary data directory, so a test can kill
 * and restart it without touching the shared server. `durable: true` turns on the append-only file with
 * an fsync per write, so what Redis acknowledged survives a kill -9 (without it a restart empties the
 * server by definition, and a "nothing lost" test would be meaningless).
 */
export class RedisProcess {
  readonly port: number;
  readonly directory: string;
  private readonly durable: boolean;
  private child: ChildProcess | undefined;

  private constructor(port: number, durable: boolean) {
    this.port = port;
    this.durable = durable;
    this.directory = mkdtempSync(join(tmpdir(), 'tasq-redis-'));
  }

  static async start(options: { durable?: boolean } = {}): Promise<RedisProcess> {
    const server = new RedisProcess(await freePort(), options.durable ?? false);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start (or start again, on the same port and data directory) and wait until it answers PING. */
  async start(): Promise<void> {
    const persistence = this.durable
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
    this.child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--dir',
        this.directory,
        ...persistence,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.port, '127.0.0.1', {
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        probe.disconnect();
      }
    }
  }

  /** Kill the server at once (SIGKILL: a crash, no shutdown save) and wait for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** Kill the server and delete its data directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
