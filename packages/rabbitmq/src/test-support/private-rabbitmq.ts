/**
 * A RabbitMQ node of the test's own, on spare ports with a temporary data directory, so a test can stop
 * and restart a server without touching the shared one. Uses the server's scripts directly (as the
 * current user, with the current user's Erlang cookie); stop() halts only this node.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePorts, sleep } from '@tasq/testing';
import { connect } from 'amqplib';

const run = promisify(execFile);
const SCRIPTS = process.env.TASQ_RABBITMQ_SCRIPTS ?? '/usr/lib/rabbitmq/bin';
/** A first start whose ports were taken between picking and binding them tries again on new ones. */
const FIRST_START_ATTEMPTS = 3;

export function privateServerAvailable(): boolean {
  return existsSync(path.join(SCRIPTS, 'rabbitmq-server')) && existsSync(path.join(SCRIPTS, 'rabbitmqctl'));
}

/** Why a start failed: the node's own error lines, and whether another process held one of its ports. */
class NodeStartError extends Error {
  readonly portTaken: boolean;
  constructor(message: string, portTaken: boolean) {
    super(message);
    this.portTaken = portTaken;
  }
}

export class PrivateRabbitServer {
  readonly nodeName = `tasqfault${process.pid}x${Math.floor(Math.random() * 1e9)}@localhost`;
  private readonly directory = mkdtempSync(path.join(tmpdir(), 'tasq-rabbitmq-'));
  /** AMQP and Erlang distribution ports: picked on the first start, kept for restarts so the URL holds. */
  private ports: { amqp: number; distribution: number } | undefined;
  private logStart = 0;

  constructor() {
    mkdirSync(path.join(this.directory, 'mnesia'));
    mkdirSync(path.join(this.directory, 'log'));
    writeFileSync(path.join(this.directory, 'enabled_plugins'), '[].\n');
  }

  get url(): string {
    if (!this.ports) throw new Error('the private RabbitMQ node has not been started yet');
    return `amqp://guest:guest@127.0.0.1:${this.ports.amqp}`;
  }

  /** Start the node (keeping its data from an earlier start) and wait until it accepts AMQP connections. */
  async start(timeoutMs = 90_000): Promise<void> {
    if (this.ports) return this.startOnce(timeoutMs);
    for (let attempt = 1; ; attempt++) {
      const [amqp, distribution] = await freePorts(2);
      this.ports = { amqp: amqp!, distribution: distribution! };
      try {
        return await this.startOnce(timeoutMs);
      } catch (error) {
        if (!(error instanceof NodeStartError && error.portTaken) || attempt === FIRST_START_ATTEMPTS)
          throw error;
      }
    }
  }

  private async startOnce(timeoutMs: number): Promise<void> {
    const ports = this.ports!;
    writeFileSync(
      path.join(this.directory, 'rabbitmq.conf'),
      `listeners.tcp.local = 127.0.0.1:${ports.amqp}\n`,
    );
    rmSync(this.pidFile, { force: true });
    // The log outlives starts: remember where this one begins, so its errors are the ones reported.
    this.logStart = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    const child = spawn(path.join(SCRIPTS, 'rabbitmq-server'), ['-detached'], {
      env: {
        ...process.env,
        RABBITMQ_NODENAME: this.nodeName,
        RABBITMQ_CONFIG_FILE: path.join(this.directory, 'rabbitmq'),
        RABBITMQ_DIST_PORT: String(ports.distribution),
        RABBITMQ_MNESIA_BASE: path.join(this.directory, 'mnesia'),
        RABBITMQ_LOG_BASE: path.join(this.directory, 'log'),
        RABBITMQ_ENABLED_PLUGINS_FILE: path.join(this.directory, 'enabled_plugins'),
        RABBITMQ_PID_FILE: this.pidFile,
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
        // A timeout, so a port that accepts but never speaks AMQP cannot hold the wait forever.
        const model = await connect(this.url, { timeout: 2_000 });
        await model.close();
        return;
      } catch (error) {
        // A node that exited (a port taken, a bad config) will never answer: say why now.
        if (this.nodeExited()) throw this.startError('exited while starting');
        if (Date.now() > deadline)
          throw this.startError(
            `did not accept connections within ${timeoutMs} ms (${(error as Error).message})`,
          );
        await sleep(250);
      }
    }
  }

  private get pidFile(): string {
    return path.join(this.directory, 'pid');
  }

  /** True once the node wrote its pid file and that process is gone. */
  private nodeExited(): boolean {
    if (!existsSync(this.pidFile)) return false;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }

  private get logFile(): string {
    return path.join(this.directory, 'log', `${this.nodeName}.log`);
  }

  private startError(what: string): NodeStartError {
    const errors = existsSync(this.logFile)
      ? readFileSync(this.logFile)
          .subarray(this.logStart)
          .toString('utf8')
          .split('\n')
          .filter((line) => line.includes('[error]'))
          .slice(0, 5)
      : [];
    const portTaken = errors.some((line) => line.includes('eaddrinuse'));
    const ports = this.ports!;
    return new NodeStartError(
      `private RabbitMQ node ${this.nodeName} (AMQP port ${ports.amqp}, distribution port ${ports.distribution}) ${what}` +
        (errors.length > 0 ? `; its log says:\n${errors.join('\n')}` : `; nothing in ${this.logFile}`),
      portTaken,
    );
  }

  /** Halt this node (its data stays for the next start). */
  async stop(): Promise<void> {
    // With the pid file, `stop` returns only once the node's process has exited.
    await run(path.join(SCRIPTS, 'rabbitmqctl'), ['-n', this.nodeName, 'stop', this.pidFile, '-q']).catch(
      () => undefined,
    );
  }

  /** Halt the node and delete its data. */
  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
