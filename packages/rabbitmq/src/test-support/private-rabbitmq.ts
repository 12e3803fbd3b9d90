/**
 * A RabbitMQ node of the test's own, on spare ports with a temporary data directory, so a test can stop
 * and restart a server without touching the shared one. Uses the server's scripts directly (as the
 * current user, with the current user's Erlang cookie); stop() halts only this node.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';

const run = promisify(execFile);
const SCRIPTS = process.env.TASQ_RABBITMQ_SCRIPTS ?? '/usr/lib/rabbitmq/bin';

export function privateServerAvailable(): boolean {
  return existsSync(path.join(SCRIPTS, 'rabbitmq-server')) && existsSync(path.join(SCRIPTS, 'rabbitmqctl'));
}

export class PrivateRabbitServer {
  readonly port: number;
  readonly nodeName: string;
  private readonly directory: string;

  constructor() {
    this.port = 20_000 + Math.floor(Math.random() * 20_000);
    this.nodeName = `tasqfault${this.port}@localhost`;
    this.directory = mkdtempSync(path.join(tmpdir(), 'tasq-rabbitmq-'));
    mkdirSync(path.join(this.directory, 'mnesia'));
    mkdirSync(path.join(this.directory, 'log'));
    writeFileSync(
      path.join(this.directory, 'rabbitmq.conf'),
      `listeners.tcp.local = 127.0.0.1:${this.port}\n`,
    );
    writeFileSync(path.join(this.directory, 'enabled_plugins'), '[].\n');
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** Start the node (keeping its data from an earlier start) and wait until it accepts AMQP connections. */
  async start(timeoutMs = 90_000): Promise<void> {
    const child = spawn(path.join(SCRIPTS, 'rabbitmq-server'), ['-detached'], {
      env: {
        ...process.env,
        RABBITMQ_NODENAME: this.nodeName,
        RABBITMQ_CONFIG_FILE: path.join(this.directory, 'rabbitmq'),
        RABBITMQ_DIST_PORT: String(this.port + 20_000),
        RABBITMQ_MNESIA_BASE: path.join(this.directory, 'mnesia'),
        RABBITMQ_LOG_BASE: path.join(this.directory, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: path.join(this.directory, 'enabled_plugins'),
        RABBITMQ_PID_FILE: path.join(this.directory, 'pid'),
      },
      stdio: 'ignore',
    });
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', () => resolve());
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const model = await connect(this.url);
        await model.close();
        return;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`private RabbitMQ node did not start: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /** Halt this node (its data stays for the next start). */
  async stop(): Promise<void> {
    // With the pid file, `stop` returns only once the node's process has exited.
    await run(path.join(SCRIPTS, 'rabbitmqctl'), [
      '-n',
      this.nodeName,
      'stop',
      path.join(this.directory, 'pid'),
      '-q',
    ]).catch(() => undefined);
  }

  /** Halt the node and delete its data. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
