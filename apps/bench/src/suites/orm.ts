/**
 * @tasq/orm, broker level, on PostgreSQL and on a SQLite file: enqueue one by one and in bulk (chunks of
 * 1,000, one statement each), reserve+ack at batch 1 and 50, and the enqueue→reserve wake-up latency of
 * a consumer blocked in `reserve` while a producer enqueues one package every 5 ms. Driven through the
 * Broker directly (no cluster runtime); the end-to-end comparison with pg-boss and graphile-worker
 * belongs to the cluster benchmarks.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOrmBroker, type OrmBroker, type OrmOptions } from '@tasq/orm';
import pg from 'pg';
import { type BenchContext, type BenchRow, type BenchSuite, percentile } from '../harness.js';

const POSTGRES_URL = process.env.TASQ_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const BULK_CHUNK = 1_000;
const LATENCY_SPACING_MS = 5;

/** Set in the child process that `produceElsewhere` starts: this module then only produces. */
const PRODUCER_ENVIRONMENT = 'TASQ_BENCH_ORM_PRODUCER';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function body(index: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ task: 'bench.noop', args: [index] }));
}

/** Epoch milliseconds with sub-millisecond resolution, comparable between processes on one machine. */
function clockNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A body carrying the moment it was sent. */
function stamped(): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, clockNow());
  return bytes;
}

function sentAt(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0);
}

function rate(count: number, startedAt: number): number {
  return count / ((performance.now() - startedAt) / 1000);
}

interface Round {
  enqueueOne: number;
  enqueueBulk: number;
  reserveAck1: number;
  reserveAck50: number;
  latencyP50: number;
  latencyP99: number;
  remoteLatencyP50: number;
  remoteLatencyP99: number;
}

/** Reserve with batch `max` and ack everything until `count` packages are done; returns packages/s. */
async function drain(broker: OrmBroker, queue: string, count: number, max: number): Promise<number> {
  let done = 0;
  const startedAt = performance.now();
  while (done < count) {
    const batch = await broker.reserve(queue, { max, leaseMs: 60_000, waitMs: 1_000 });
    if (batch.length === 0) throw new Error(`${queue}: queue ran dry after ${done} of ${count}`);
    // A batch's acks go out together, as a runtime settling finished tasks does.
    await Promise.all(batch.map((delivery) => broker.ack(delivery)));
    done += batch.length;
  }
  return rate(count, startedAt);
}

/** Consume `samples` stamped packages one reserve at a time while `produce` sends them; the latencies in ms. */
async function wakeUpLatency(
  consumer: OrmBroker,
  queue: string,
  samples: number,
  produce: () => Promise<void>,
): Promise<number[]> {
  const latencies: number[] = [];
  const consuming = (async () => {
    while (latencies.length < samples) {
      const batch = await consumer.reserve(queue, { max: 1, leaseMs: 60_000, waitMs: 5_000 });
      const receivedAt = clockNow();
      if (batch.length === 0) throw new Error(`${queue}: no package within 5 s`);
      for (const delivery of batch) {
        latencies.push(receivedAt - sentAt(delivery.body));
        await consumer.ack(delivery);
      }
    }
  })();
  await Promise.all([consuming, produce()]);
  return latencies;
}

async function produceHere(producer: OrmBroker, queue: string, samples: number): Promise<void> {
  for (let i = 0; i < samples; i++) {
    await producer.enqueue(queue, [stamped()]);
    await sleep(LATENCY_SPACING_MS);
  }
}

/** Run the producer in a child process (this same module, in producer mode): wake-ups across processes. */
function produceElsewhere(options: OrmOptions, queue: string, samples: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, [PRODUCER_ENVIRONMENT]: JSON.stringify({ options, queue, samples }) },
      execArgv: ['--disable-warning=ExperimentalWarning'],
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`producer process exited with ${code}`)),
    );
  });
}

async function measureRound(
  options: OrmOptions,
  context: BenchContext,
  label: string,
  round: number,
): Promise<Round> {
  const broker = await createOrmBroker(options);
  const consumer = await createOrmBroker(options);
  const oneByOne = Math.max(100, Math.floor(context.n / 4));
  const bulk = context.n;
  const latencySamples = 200;
  try {
    const queue = `bench-${label}-${process.pid}-${round}`;
    let startedAt = performance.now();
    for (let i = 0; i < oneByOne; i++) await broker.enqueue(queue, [body(i)]);
    const enqueueOne = rate(oneByOne, startedAt);
    const reserveAck1 = await drain(broker, queue, oneByOne, 1);

    startedAt = performance.now();
    for (let start = 0; start < bulk; start += BULK_CHUNK) {
      const size = Math.min(BULK_CHUNK, bulk - start);
      await broker.enqueue(
        queue,
        Array.from({ length: size }, (_, i) => body(start + i)),
      );
    }
    const enqueueBulk = rate(bulk, startedAt);
    const reserveAck50 = await drain(broker, queue, bulk, 50);

    const latencies = await wakeUpLatency(consumer, `${queue}-latency`, latencySamples, () =>
      produceHere(broker, `${queue}-latency`, latencySamples),
    );
    const remote = await wakeUpLatency(consumer, `${queue}-remote`, latencySamples, () =>
      produceElsewhere(options, `${queue}-remote`, latencySamples),
    );
    const result: Round = {
      enqueueOne,
      enqueueBulk,
      reserveAck1,
      reserveAck50,
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
      remoteLatencyP50: percentile(remote, 50),
      remoteLatencyP99: percentile(remote, 99),
    };
    context.log(
      `${label} round ${round + 1}/${context.rounds}: enqueue ${result.enqueueOne.toFixed(0)}/s, bulk ${result.enqueueBulk.toFixed(0)}/s, ` +
        `reserve+ack(1) ${result.reserveAck1.toFixed(0)}/s, reserve+ack(50) ${result.reserveAck50.toFixed(0)}/s, ` +
        `wake-up p50 ${result.latencyP50.toFixed(2)} ms p99 ${result.latencyP99.toFixed(2)} ms, ` +
        `from another process p50 ${result.remoteLatencyP50.toFixed(2)} ms p99 ${result.remoteLatencyP99.toFixed(2)} ms`,
    );
    return result;
  } finally {
    await broker.close();
    await consumer.close();
  }
}

function rowsFor(system: string, rounds: Round[], context: BenchContext, notes: string): BenchRow[] {
  const oneByOne = Math.max(100, Math.floor(context.n / 4));
  const row = (metric: string, unit: string, pick: (round: Round) => number, extra?: string): BenchRow => ({
    suite: 'orm',
    system,
    metric,
    unit,
    values: rounds.map(pick),
    notes: extra ? `${notes}; ${extra}` : notes,
  });
  return [
    row('enqueue one-by-one', 'ops/s', (r) => r.enqueueOne, `${oneByOne} packages, one call each`),
    row('enqueue bulk (1000/call)', 'ops/s', (r) => r.enqueueBulk, `${context.n} packages`),
    row('reserve+ack batch 1', 'ops/s', (r) => r.reserveAck1, `${oneByOne} packages`),
    row(
      'reserve+ack batch 50',
      'ops/s',
      (r) => r.reserveAck50,
      `${context.n} packages, acks of a batch concurrent`,
    ),
    row(
      'wake-up latency p50',
      'ms',
      (r) => r.latencyP50,
      '200 packages, one every 5 ms, consumer blocked in reserve',
    ),
    row(
      'wake-up latency p99',
      'ms',
      (r) => r.latencyP99,
      '200 packages, one every 5 ms, consumer blocked in reserve',
    ),
    row(
      'wake-up latency p50, producer in another process',
      'ms',
      (r) => r.remoteLatencyP50,
      '200 packages, one every 5 ms from a child process',
    ),
    row(
      'wake-up latency p99, producer in another process',
      'ms',
      (r) => r.remoteLatencyP99,
      '200 packages, one every 5 ms from a child process',
    ),
  ];
}

async function postgresAvailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export const suite: BenchSuite = {
  name: 'orm',
  description:
    'tasq SQL broker on PostgreSQL and SQLite: enqueue one-by-one and bulk, reserve+ack at batch 1 and 50, enqueue→reserve wake-up latency',
  async run(context) {
    const unavailable = await postgresAvailable();
    if (unavailable)
      context.log(`PostgreSQL at ${POSTGRES_URL} is not reachable (${unavailable}): no PostgreSQL rows`);
    const schema = `tasq_bench_${process.pid}`;
    const postgres: OrmOptions = { url: POSTGRES_URL, schema };
    const folder = mkdtempSync(path.join(tmpdir(), 'tasq-bench-orm-'));
    const sqlite: OrmOptions = { url: `sqlite:${path.join(folder, 'bench.db')}` };
    const postgresRounds: Round[] = [];
    const sqliteRounds: Round[] = [];
    try {
      // Rounds interleaved (PostgreSQL, SQLite, PostgreSQL, ...), so a burst of load from elsewhere on a
      // shared machine lands on both systems rather than on all rounds of one.
      for (let round = 0; round < context.rounds; round++) {
        if (!unavailable) postgresRounds.push(await measureRound(postgres, context, 'postgres', round));
        sqliteRounds.push(await measureRound(sqlite, context, 'sqlite', round));
      }
    } finally {
      if (!unavailable) await dropSchema(schema);
      rmSync(folder, { recursive: true, force: true });
    }
    return [
      ...(unavailable
        ? []
        : rowsFor('tasq-orm postgres', postgresRounds, context, 'pg pool of 10, LISTEN/NOTIFY wake-ups')),
      ...rowsFor(
        'tasq-orm sqlite',
        sqliteRounds,
        context,
        'WAL, synchronous=NORMAL; producer and consumer in one process (in-process wake-up)',
      ),
    ];
  },
};

// Producer mode: the child process started by `produceElsewhere`.
const producerJob = process.env[PRODUCER_ENVIRONMENT];
if (producerJob) {
  const { options, queue, samples } = JSON.parse(producerJob) as {
    options: OrmOptions;
    queue: string;
    samples: number;
  };
  const producer = await createOrmBroker(options);
  await produceHere(producer, queue, samples);
  await producer.close();
}
