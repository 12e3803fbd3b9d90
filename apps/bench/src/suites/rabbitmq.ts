/**
 * RabbitMQ, broker level: tasq's RabbitMqBroker beside raw amqplib 2.3.1 on the same server, in the same
 * run, rounds interleaved (tasq, amqplib, tasq, ...). Raw amqplib is the ceiling: persistent messages,
 * publisher confirms, manual acks, nothing else. tasq is driven through its Broker directly (enqueue;
 * reserve + ack in a loop); the end-to-end figure through the cluster runtime (fetcher, worker
 * processes, result saving) belongs to the cluster benchmarks.
 *
 * Pairs that are compared: enqueue one-by-one (await each confirm) vs publish + wait for its confirm;
 * enqueue(1000 bodies) vs 1000 publishes then waitForConfirms; reserve(max 1) + ack with prefetch 1 vs
 * a consumer with prefetch 1 acking each message; reserve(max 50) + acks with prefetch 50 vs prefetch
 * 50; enqueue→reserve latency (idle consumer, one package every few ms) vs publish→consumer callback.
 * tasq's work queues carry `x-max-priority` 9 and a dead-letter queue; raw amqplib uses a plain durable
 * queue, as in shared/bench-peers.md. Both open one connection to publish and one to consume. Raw
 * amqplib acks each message (as in shared/bench-peers.md); tasq coalesces the acks of one event-loop
 * turn into multiple-acks, which is why it can pass the "ceiling" at prefetch 50.
 */
import { randomBytes } from 'node:crypto';
import { RabbitMqBroker } from '@tasq/rabbitmq';
import { type ConfirmChannel, connect } from 'amqplib';
import { type BenchContext, type BenchRow, type BenchSuite, percentile } from '../harness.js';

const RABBITMQ_URL = process.env.TASQ_BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const BULK_CHUNK = 1000;
const LATENCY_SPACING_MS = 3;

type System = 'tasq' | 'amqplib';
const SYSTEMS: System[] = ['tasq', 'amqplib'];

interface Metrics {
  enqueueSingle: number;
  enqueueBulk: number;
  consume1: number;
  consume50: number;
  latencyP50: number;
  latencyP99: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function body(index: number): Buffer {
  return Buffer.from(JSON.stringify({ task: 'bench.noop', args: [index] }));
}

/** A body carrying the time it was sent (performance.now(), same process), for latency. */
function stamped(): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(performance.now(), 0);
  return bytes;
}

function sentAt(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0);
}

function rate(count: number, startedAt: number): number {
  return count / ((performance.now() - startedAt) / 1000);
}

// ---------------------------------------------------------------- tasq (broker level)

async function runTasq(n: number, latencyJobs: number, tag: string): Promise<Metrics> {
  const options = {
    url: RABBITMQ_URL,
    connectionName: `tasq-bench-${tag}`,
    exchangePrefix: `tasq-bench-${tag}`,
  };
  const producer = await RabbitMqBroker.connect(options);
  // queueLimit = c: prefetch 1 for the c=1 figure, 50 for c=50, as a cluster would configure it.
  const consumer1 = await RabbitMqBroker.connect({ ...options, prefetch: 1 });
  const consumer50 = await RabbitMqBroker.connect({ ...options, prefetch: 50 });
  const queues = [`${tag}-single`, `${tag}-bulk`, `${tag}-latency`];
  try {
    let started = performance.now();
    for (let i = 0; i < n; i++) await producer.enqueue(queues[0]!, [body(i)]);
    const enqueueSingle = rate(n, started);

    started = performance.now();
    for (let i = 0; i < n; i += BULK_CHUNK) {
      await producer.enqueue(
        queues[1]!,
        Array.from({ length: Math.min(BULK_CHUNK, n - i) }, (_, j) => body(i + j)),
      );
    }
    const enqueueBulk = rate(n, started);

    const consume = async (broker: RabbitMqBroker, queue: string, batch: number) => {
      let done = 0;
      const begin = performance.now();
      while (done < n) {
        const deliveries = await broker.reserve(queue, { max: batch, leaseMs: 60_000, waitMs: 1000 });
        for (const delivery of deliveries) await broker.ack(delivery);
        done += deliveries.length;
      }
      return rate(n, begin);
    };
    const consume1 = await consume(consumer1, queues[0]!, 1);
    const consume50 = await consume(consumer50, queues[1]!, 50);

    const latencies: number[] = [];
    await consumer1.reserve(queues[2]!, { max: 1, leaseMs: 60_000, waitMs: 0 });
    const listening = (async () => {
      while (latencies.length < latencyJobs) {
        const deliveries = await consumer1.reserve(queues[2]!, { max: 1, leaseMs: 60_000, waitMs: 5000 });
        for (const delivery of deliveries) {
          latencies.push(performance.now() - sentAt(delivery.body));
          await consumer1.ack(delivery);
        }
      }
    })();
    await sleep(100);
    for (let i = 0; i < latencyJobs; i++) {
      await producer.enqueue(queues[2]!, [stamped()]);
      await sleep(LATENCY_SPACING_MS);
    }
    await listening;
    return {
      enqueueSingle,
      enqueueBulk,
      consume1,
      consume50,
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
    };
  } finally {
    for (const queue of queues) await producer.deleteQueue(queue).catch(() => undefined);
    await Promise.all([producer.close(), consumer1.close(), consumer50.close()]);
    await deleteExchanges(`tasq-bench-${tag}`);
  }
}

async function deleteExchanges(prefix: string): Promise<void> {
  const model = await connect(RABBITMQ_URL);
  try {
    const channel = await model.createChannel();
    for (let level = 0; level < 28; level++) await channel.deleteExchange(`${prefix}.delay.${level}`);
    await channel.deleteExchange(`${prefix}.delay.deliver`);
  } finally {
    await model.close();
  }
}

// ---------------------------------------------------------------- raw amqplib

async function runAmqplib(n: number, latencyJobs: number, tag: string): Promise<Metrics> {
  // Separate connections to publish and to consume, as RabbitMQ advises and as tasq does.
  const model = await connect(RABBITMQ_URL, {
    clientProperties: { connection_name: `amqplib-bench-${tag}` },
  });
  const consumerModel = await connect(RABBITMQ_URL, {
    clientProperties: { connection_name: `amqplib-bench-${tag}-consume` },
  });
  const queues = [`${tag}-raw-single`, `${tag}-raw-bulk`, `${tag}-raw-latency`];
  try {
    const publisher = await model.createConfirmChannel();
    for (const queue of queues) await publisher.assertQueue(queue, { durable: true });
    const publish = (channel: ConfirmChannel, queue: string, content: Buffer) =>
      new Promise<void>((resolve, reject) => {
        channel.sendToQueue(queue, content, { persistent: true }, (error: unknown) =>
          error ? reject(error) : resolve(),
        );
      });

    let started = performance.now();
    for (let i = 0; i < n; i++) await publish(publisher, queues[0]!, body(i));
    const enqueueSingle = rate(n, started);

    started = performance.now();
    for (let i = 0; i < n; i += BULK_CHUNK) {
      for (let j = i; j < Math.min(i + BULK_CHUNK, n); j++) {
        publisher.sendToQueue(queues[1]!, body(j), { persistent: true });
      }
      await publisher.waitForConfirms();
    }
    const enqueueBulk = rate(n, started);

    const consume = async (queue: string, prefetch: number) => {
      const channel = await consumerModel.createChannel();
      await channel.prefetch(prefetch);
      let done = 0;
      const begin = performance.now();
      await new Promise<void>((resolve) => {
        void channel.consume(queue, (message) => {
          if (!message) return;
          channel.ack(message);
          if (++done === n) resolve();
        });
      });
      const measured = rate(n, begin);
      await channel.close();
      return measured;
    };
    const consume1 = await consume(queues[0]!, 1);
    const consume50 = await consume(queues[1]!, 50);

    const channel = await consumerModel.createChannel();
    await channel.prefetch(1);
    const latencies: number[] = [];
    const finished = new Promise<void>((resolve) => {
      void channel.consume(queues[2]!, (message) => {
        if (!message) return;
        latencies.push(performance.now() - sentAt(message.content));
        channel.ack(message);
        if (latencies.length === latencyJobs) resolve();
      });
    });
    await sleep(100);
    for (let i = 0; i < latencyJobs; i++) {
      await publish(publisher, queues[2]!, stamped());
      await sleep(LATENCY_SPACING_MS);
    }
    await finished;
    await channel.close();
    for (const queue of queues) await publisher.deleteQueue(queue);
    return {
      enqueueSingle,
      enqueueBulk,
      consume1,
      consume50,
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
    };
  } finally {
    await Promise.all([model.close(), consumerModel.close()]);
  }
}

// ---------------------------------------------------------------- suite

export const suite: BenchSuite = {
  name: 'rabbitmq',
  description:
    'RabbitMQ broker level: tasq RabbitMqBroker (enqueue with confirms; reserve+ack loop) vs raw amqplib 2.3.1 (confirms, prefetch, ack) as the ceiling, same server, interleaved rounds',
  async run(context: BenchContext): Promise<BenchRow[]> {
    // One-by-one publishing with confirms runs at ~2k/s here: cap n so a default run stays near 2-3 minutes.
    const n = Math.min(context.n, 10_000);
    const latencyJobs = Math.max(50, Math.min(1000, Math.floor(n / 10)));
    const runId = randomBytes(4).toString('hex');
    const values = new Map<System, Metrics[]>(SYSTEMS.map((system) => [system, []]));
    for (let round = 0; round < context.rounds; round++) {
      for (const system of SYSTEMS) {
        const tag = `bench-${runId}-r${round}`;
        const metrics =
          system === 'tasq' ? await runTasq(n, latencyJobs, tag) : await runAmqplib(n, latencyJobs, tag);
        values.get(system)?.push(metrics);
        context.log(
          `rabbitmq round ${round + 1}/${context.rounds} ${system}: enqueue ${metrics.enqueueSingle.toFixed(0)}/s, bulk ${metrics.enqueueBulk.toFixed(0)}/s, ` +
            `consume c1 ${metrics.consume1.toFixed(0)}/s, c50 ${metrics.consume50.toFixed(0)}/s, ` +
            `latency p50 ${metrics.latencyP50.toFixed(2)} ms p99 ${metrics.latencyP99.toFixed(2)} ms`,
        );
      }
    }
    const metricRows: [keyof Metrics, string, string, Record<System, string>][] = [
      [
        'enqueueSingle',
        'enqueue one-by-one',
        'jobs/s',
        { tasq: 'enqueue() awaiting its confirm', amqplib: 'sendToQueue + its confirm' },
      ],
      [
        'enqueueBulk',
        `enqueue bulk (chunks of ${BULK_CHUNK})`,
        'jobs/s',
        { tasq: 'enqueue(1000 bodies)', amqplib: '1000 × sendToQueue, waitForConfirms' },
      ],
      [
        'consume1',
        'consume c=1',
        'jobs/s',
        { tasq: 'reserve(max 1) + ack, prefetch 1', amqplib: 'consume prefetch 1 + ack' },
      ],
      [
        'consume50',
        'consume c=50',
        'jobs/s',
        { tasq: 'reserve(max 50) + acks, prefetch 50', amqplib: 'consume prefetch 50 + ack' },
      ],
      [
        'latencyP50',
        'enqueue→reserve p50',
        'ms',
        { tasq: 'idle reserve, prefetch 1', amqplib: 'idle consumer, prefetch 1' },
      ],
      [
        'latencyP99',
        'enqueue→reserve p99',
        'ms',
        { tasq: 'idle reserve, prefetch 1', amqplib: 'idle consumer, prefetch 1' },
      ],
    ];
    const rows: BenchRow[] = [];
    for (const [key, metric, unit, notes] of metricRows) {
      for (const system of SYSTEMS) {
        rows.push({
          suite: 'rabbitmq',
          system: system === 'tasq' ? 'tasq (broker level)' : 'raw amqplib 2.3.1 (ceiling)',
          metric,
          unit,
          values: (values.get(system) ?? []).map((m) => m[key]),
          notes: `${notes[system]}; n=${key.startsWith('latency') ? `${latencyJobs}, one every ${LATENCY_SPACING_MS} ms` : n}`,
        });
      }
    }
    return rows;
  },
};
