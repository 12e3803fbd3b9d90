/**
 * Test helpers that talk to the real server: reachability, cleanup of the queues a run declared, and
 * closing this run's own connections the way an operator would (`rabbitmqctl close_connection`).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { requireService } from '@tasq/testing';
import { connect } from 'amqplib';
import { RabbitMqBroker } from '../rabbitmq-broker.js';
import type { RabbitMqBrokerOptions } from '../rabbitmq-options.js';
import { DELAY_LEVELS, delayExchangeName, deliverExchangeName } from '../rabbitmq-topology.js';

const run = promisify(execFile);

export const RABBITMQ_URL = process.env.TASQ_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Undefined when the server answers; a skip reason otherwise (an error under CI). */
export function rabbitSkipReason(): Promise<string | undefined> {
  return requireService(`RabbitMQ at ${RABBITMQ_URL.replace(/\/\/[^@]*@/, '//')}`, async () => {
    const model = await connect(RABBITMQ_URL);
    await model.close();
  });
}

/** Opens brokers with connection names unique to this run and deletes every queue they declared. */
export class BrokerPool {
  readonly runId = randomBytes(4).toString('hex');
  private readonly brokers: RabbitMqBroker[] = [];

  constructor(private readonly options: RabbitMqBrokerOptions = {}) {}

  /** The connection name shared by this pool's brokers: what `closeOwnConnections` looks for. */
  get connectionName(): string {
    return `tasq-test-${this.runId}`;
  }

  /** Delay exchanges of this run only, deleted by `cleanup`. */
  get exchangePrefix(): string {
    return `tasq-test-${this.runId}`;
  }

  /** A broker of this pool; `deployment` is the configuration's `name` (default "default"). */
  async open(extra: RabbitMqBrokerOptions = {}, deployment?: string): Promise<RabbitMqBroker> {
    const broker = await RabbitMqBroker.connect(
      {
        url: RABBITMQ_URL,
        connectionName: this.connectionName,
        exchangePrefix: this.exchangePrefix,
        ...this.options,
        ...extra,
      },
      deployment === undefined ? {} : { deployment },
    );
    this.brokers.push(broker);
    if (deployment !== undefined && deployment !== 'default') this.deployments.add(deployment);
    return broker;
  }

  private readonly deployments = new Set<string>();

  /** Close every broker and delete every queue and delay exchange any of them declared. */
  async cleanup(): Promise<void> {
    const names = new Set(this.brokers.flatMap((broker) => broker.declaredQueues));
    await Promise.all(this.brokers.map((broker) => broker.close()));
    this.brokers.length = 0;
    const model = await connect(RABBITMQ_URL);
    try {
      const channel = await model.createChannel();
      for (const name of names) await channel.deleteQueue(name);
      const prefixes = [
        this.exchangePrefix,
        ...[...this.deployments].map((deployment) => `${deployment}/${this.exchangePrefix}`),
      ];
      for (const prefix of prefixes) {
        for (let level = 0; level < DELAY_LEVELS; level++) {
          await channel.deleteExchange(delayExchangeName(prefix, level));
        }
        await channel.deleteExchange(deliverExchangeName(prefix));
      }
      await channel.close();
    } finally {
      await model.close();
    }
  }
}

/**
 * Close, on the server, every connection whose client-provided name is `connectionName`: what
 * `rabbitmqctl close_all_connections` does, limited to our own connections so other users of the
 * shared server are not disturbed. Returns how many were closed.
 */
export async function closeOwnConnections(
  connectionName: string,
  roles: readonly string[] = ['publish', 'consume'],
): Promise<number> {
  // Tab-separated: the connection's Erlang pid, then its client properties as an Erlang term.
  const { stdout } = await run('rabbitmqctl', [
    'list_connections',
    'pid',
    'client_properties',
    '-q',
    '--no-table-headers',
  ]);
  const ours = stdout
    .split('\n')
    .filter((line) => roles.some((role) => line.includes(`{"connection_name","${connectionName}:${role}"}`)))
    .map((line) => ({ pid: line.split('\t')[0]! }));
  await Promise.all(
    ours.map((row) => run('rabbitmqctl', ['close_connection', row.pid, 'tasq fault test', '-q'])),
  );
  return ours.length;
}
