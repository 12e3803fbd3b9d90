/**
 * Redis, broker level: tasq's Redis broker beside BullMQ 6.7 and bee-queue 2.0 on the same server, in the
 * same run, rounds interleaved (tasq, BullMQ, bee-queue, tasq, ...), plus redis-benchmark as the server's
 * own ceiling. tasq is driven through its Broker directly (reserve + ack in a loop); the peers run their
 * own Worker / process() with a no-op handler. The end-to-end comparison through tasq's cluster runtime
 * (fetcher, worker processes, result saving) belongs to the cluster benchmarks.
 *
 * Peers run lean, as tuned in shared/bench-peers.md: BullMQ `removeOnComplete`/`removeOnFail`, bee-queue
 * `removeOnSuccess`, no events, because tasq deletes a package on ack and publishes nothing. BullMQ gets
 * RESP2 connections like tasq's.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { RedisBroker } from '@tasq/redis';
import BeeQueue from 'bee-queue';
import { Queue, Worker } from 'bullmq';
import { type BenchContext, type BenchRow, type BenchSuite, percentile } from '../harness.js';
import { deleteRedisKeys } from '../redis-cleanup.js';

const REDIS_URL = process.env.TASQ_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const { hostname: HOST, port: PORT_TEXT } = new URL(REDIS_URL);
const PORT = Number(PORT_TEXT || 6379);
const BULK_CHUNK = 1000;
const LATENCY_SPACING_MS = 3;

type System = 'tasq' | 'bullmq' | 'bee-queue';
const SYSTEMS: System[] = ['tasq', 'bullmq', 'bee-queue'];

interface Metrics {
  enqueueSingle: number;
  enqueueBulk: number;
  consume1: number;
  /** tasq only: c=1 with the ack of one task overlapping the reserve of the next. */
  consume1Overlapped?: number;
  consume50: number;
  latencyP50: number;
  latencyP99: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function body(index: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ task: 'bench.noop', args: [index] }));
}

/** A body carrying the time it was sent (performance.now(), same process), for latency. */
function stamped(): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setFloat64(0, performance.now());
  return bytes;
}

class Deferred {
  promise: Promise<void>;
  resolve!: () => void;
  constructor() {
    this.promise = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
  }
}

// ---------------------------------------------------------------- tasq (broker level)

async function runTasq(prefix: string, n: number, latencyJobs: number, tag: string): Promise<Metrics> {
  const producer = new RedisBroker({ connection: REDIS_URL, prefix });
  const consumer = new RedisBroker({ connection: REDIS_URL, prefix });
  try {
    let started = performance.now();
    for (let i = 0; i < n; i++) await producer.enqueue(`${tag}-single`, [body(i)]);
    const enqueueSingle = n / ((performance.now() - started) / 1000);

    started = performance.now();
    for (let i = 0; i < n; i += BULK_CHUNK) {
      await producer.enqueue(
        `${tag}-bulk`,
        Array.from({ length: Math.min(BULK_CHUNK, n - i) }, (_, j) => body(i + j)),
      );
    }
    const enqueueBulk = n / ((performance.now() - started) / 1000);

    const consume = async (queue: string, batch: number) => {
      let done = 0;
      const begin = performance.now();
      while (done < n) {
        const deliveries = await consumer.reserve(queue, { max: batch, leaseMs: 60_000, waitMs: 1000 });
        if (batch === 1) {
          for (const delivery of deliveries) await consumer.ack(delivery);
        } else {
          await Promise.all(deliveries.map((delivery) => consumer.ack(delivery)));
        }
        done += deliveries.length;
      }
      return n / ((performance.now() - begin) / 1000);
    };
    // One task at a time, but the ack of a finished task travels while the next one is reserved (at most
    // one ack in flight), as the cluster's monitor settles outcomes beside the fetcher.
    const consumeOverlapped = async (queue: string) => {
      let done = 0;
      let acking: Promise<void> = Promise.resolve();
      const begin = performance.now();
      while (done < n) {
        const deliveries = await consumer.reserve(queue, { max: 1, leaseMs: 60_000, waitMs: 1000 });
        for (const delivery of deliveries) {
          await acking;
          acking = consumer.ack(delivery);
        }
        done += deliveries.length;
      }
      await acking;
      return n / ((performance.now() - begin) / 1000);
    };
    // The queues filled above are drained: c=1 from the single-enqueue queue, c=50 from the bulk one;
    // the overlapped c=1 loop gets a queue of its own.
    const consume1 = await consume(`${tag}-single`, 1);
    const consume50 = await consume(`${tag}-bulk`, 50);
    for (let i = 0; i < n; i += BULK_CHUNK) {
      await producer.enqueue(
        `${tag}-overlap`,
        Array.from({ length: Math.min(BULK_CHUNK, n - i) }, (_, j) => body(i + j)),
      );
    }
    const consume1Overlapped = await consumeOverlapped(`${tag}-overlap`);

    const latencies: number[] = [];
    const finished = new Deferred();
    const listening = (async () => {
      while (latencies.length < latencyJobs) {
        const deliveries = await consumer.reserve(`${tag}-latency`, {
          max: 1,
          leaseMs: 60_000,
          waitMs: 5000,
        });
        for (const delivery of deliveries) {
          latencies.push(
            performance.now() - new DataView(delivery.body.buffer, delivery.body.byteOffset, 8).getFloat64(0),
          );
          await consumer.ack(delivery);
        }
      }
      finished.resolve();
    })();
    await sleep(100);
    for (let i = 0; i < latencyJobs; i++) {
      await producer.enqueue(`${tag}-latency`, [stamped()]);
      await sleep(LATENCY_SPACING_MS);
    }
    await finished.promise;
    await listening;
    return {
      enqueueSingle,
      enqueueBulk,
      consume1,
      consume1Overlapped,
      consume50,
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
    };
  } finally {
    await producer.close();
    await consumer.close();
  }
}

// ---------------------------------------------------------------- BullMQ

async function runBullmq(prefix: string, n: number, latencyJobs: number, tag: string): Promise<Metrics> {
  // RESP2, as tasq's own connections use: ioredis 6's RESP3 path costs more CPU per call (see
  // packages/redis/src/redis-connection.ts), and bee-queue's client speaks RESP2 too.
  const connection = { host: HOST, port: PORT, maxRetriesPerRequest: null, protocol: 2 as const };
  const jobOptions = { removeOnComplete: true, removeOnFail: true };
  const queues: Queue[] = [];
  const open = (name: string) => {
    const queue = new Queue(name, { connection, prefix, defaultJobOptions: jobOptions });
    queues.push(queue);
    return queue;
  };
  try {
    const single = open(`${tag}-single`);
    await single.waitUntilReady();
    let started = performance.now();
    for (let i = 0; i < n; i++) await single.add('noop', { index: i });
    const enqueueSingle = n / ((performance.now() - started) / 1000);

    const bulk = open(`${tag}-bulk`);
    await bulk.waitUntilReady();
    started = performance.now();
    for (let i = 0; i < n; i += BULK_CHUNK) {
      await bulk.addBulk(
        Array.from({ length: Math.min(BULK_CHUNK, n - i) }, (_, j) => ({
          name: 'noop',
          data: { index: i + j },
        })),
      );
    }
    const enqueueBulk = n / ((performance.now() - started) / 1000);

    const consume = async (name: string, concurrency: number) => {
      let done = 0;
      const finished = new Deferred();
      const worker = new Worker(
        name,
        async () => {
          done += 1;
          if (done === n) finished.resolve();
        },
        { connection, prefix, concurrency, autorun: false },
      );
      await worker.waitUntilReady();
      const begin = performance.now();
      void worker.run();
      await finished.promise;
      const rate = n / ((performance.now() - begin) / 1000);
      await worker.close();
      return rate;
    };
    const consume1 = await consume(`${tag}-single`, 1);
    const consume50 = await consume(`${tag}-bulk`, 50);

    const latencyQueue = open(`${tag}-latency`);
    await latencyQueue.waitUntilReady();
    const latencies: number[] = [];
    const finished = new Deferred();
    const worker = new Worker(
      `${tag}-latency`,
      async (job) => {
        latencies.push(performance.now() - (job.data as { sentAt: number }).sentAt);
        if (latencies.length === latencyJobs) finished.resolve();
      },
      { connection, prefix, concurrency: 1 },
    );
    await worker.waitUntilReady();
    await sleep(100);
    for (let i = 0; i < latencyJobs; i++) {
      await latencyQueue.add('noop', { sentAt: performance.now() });
      await sleep(LATENCY_SPACING_MS);
    }
    await finished.promise;
    await worker.close();
    return {
      enqueueSingle,
      enqueueBulk,
      consume1,
      consume50,
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
    };
  } finally {
    for (const queue of queues) await queue.close();
  }
}

// ---------------------------------------------------------------- bee-queue

async function runBee(prefix: string, n: number, latencyJobs: number, tag: string): Promise<Metrics> {
  const redis = { host: HOST, port: PORT };
  const opened: BeeQueue[] = [];
  const open = (name: string, isWorker: boolean) => {
    const queue = new BeeQueue(name, {
      prefix,
      redis,
      isWorker,
      getEvents: false,
      sendEvents: false,
      storeJobs: false,
      removeOnSuccess: true,
      removeOnFailure: true,
      activateDelayedJobs: false,
    });
    opened.push(queue);
    return queue;
  };
  try {
    const single = await open(`${tag}-single`, false).ready();
    let started = performance.now();
    for (let i = 0; i < n; i++) await single.createJob({ index: i }).save();
    const enqueueSingle = n / ((performance.now() - started) / 1000);

    const bulk = await open(`${tag}-bulk`, false).ready();
    started = performance.now();
    for (let i = 0; i < n; i += BULK_CHUNK) {
      await bulk.saveAll(
        Array.from({ length: Math.min(BULK_CHUNK, n - i) }, (_, j) => bulk.createJob({ index: i + j })),
      );
    }
    const enqueueBulk = n / ((performance.now() - started) / 1000);

    const consume = async (name: string, concurrency: number) => {
      let done = 0;
      const finished = new Deferred();
      const worker = await open(name, true).ready();
      const begin = performance.now();
      worker.process(concurrency, async () => {
        done += 1;
        if (done === n) finished.resolve();
      });
      await finished.promise;
      return n / ((performance.now() - begin) / 1000);
    };
    const consume1 = await consume(`${tag}-single`, 1);
    const consume50 = await consume(`${tag}-bulk`, 50);

    const producer = await open(`${tag}-latency`, false).ready();
    const worker = await open(`${tag}-latency`, true).ready();
    const latencies: number[] = [];
    const finished = new Deferred();
    worker.process(1, async (job) => {
      latencies.push(performance.now() - (job.data as { sentAt: number }).sentAt);
      if (latencies.length === latencyJobs) finished.resolve();
    });
    await sleep(100);
    for (let i = 0; i < latencyJobs; i++) {
      await producer.createJob({ sentAt: performance.now() }).save();
      await sleep(LATENCY_SPACING_MS);
    }
    await finished.promise;
    return {
      enqueueSingle,
      enqueueBulk,
      consume1,
      consume50,
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
    };
  } finally {
    for (const queue of opened) await queue.close(5000).catch(() => undefined);
  }
}

// ---------------------------------------------------------------- redis-benchmark

/** Run redis-benchmark with commands on keys under `prefix`; undefined when it is not installed. */
function redisBenchmark(
  prefix: string,
  pipeline: number,
  requests: number,
): Promise<Map<string, number> | undefined> {
  // Custom commands keep redis-benchmark's keys under our prefix (its built-in tests write `key:*`,
  // `mylist`... on a server other people use).
  const commands: [string, string[]][] = [
    ['SET', ['set', `${prefix}:rb:key:__rand_int__`, 'xxx']],
    ['GET', ['get', `${prefix}:rb:key:__rand_int__`]],
    ['LPUSH', ['lpush', `${prefix}:rb:list`, 'xxx']],
    ['RPOP', ['rpop', `${prefix}:rb:list`]],
  ];
  return commands.reduce<Promise<Map<string, number> | undefined>>(async (previous, [label, command]) => {
    const results = await previous;
    if (!results) return undefined;
    const output = await new Promise<string | undefined>((resolve) => {
      const child = spawn(
        'redis-benchmark',
        [
          '-h',
          HOST,
          '-p',
          String(PORT),
          '-q',
          '-n',
          String(requests),
          '-r',
          '10000',
          '-P',
          String(pipeline),
          ...command,
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.on('error', () => resolve(undefined));
      child.on('close', (code) => resolve(code === 0 ? text : undefined));
    });
    if (output === undefined) return undefined;
    // The last "<command>: <n> requests per second" line (-q rewrites it with \r as it goes).
    const matches = [...output.matchAll(/([\d.]+) requests per second/g)];
    const last = matches.at(-1);
    if (last) results.set(label, Number(last[1]));
    return results;
  }, Promise.resolve(new Map()));
}

// ---------------------------------------------------------------- suite

export const suite: BenchSuite = {
  name: 'redis',
  description:
    'Redis broker level: tasq RedisBroker (reserve+ack loop) vs BullMQ 6.7 and bee-queue 2.0 (no-op workers), same server, interleaved rounds; redis-benchmark ceiling',
  async run(context: BenchContext): Promise<BenchRow[]> {
    const n = context.n;
    const latencyJobs = Math.max(50, Math.min(1000, Math.floor(n / 20)));
    const prefix = `tasq-bench-${randomBytes(4).toString('hex')}`;
    const values = new Map<System, Metrics[]>(SYSTEMS.map((system) => [system, []]));
    const rows: BenchRow[] = [];
    try {
      for (let round = 0; round < context.rounds; round++) {
        for (const system of SYSTEMS) {
          const tag = `r${round}`;
          const run = system === 'tasq' ? runTasq : system === 'bullmq' ? runBullmq : runBee;
          const metrics = await run(`${prefix}-${system}`, n, latencyJobs, tag);
          values.get(system)?.push(metrics);
          context.log(
            `redis round ${round + 1}/${context.rounds} ${system}: enqueue ${metrics.enqueueSingle.toFixed(0)}/s, bulk ${metrics.enqueueBulk.toFixed(0)}/s, ` +
              `consume c1 ${metrics.consume1.toFixed(0)}/s${metrics.consume1Overlapped === undefined ? '' : ` (overlapped ${metrics.consume1Overlapped.toFixed(0)}/s)`}, c50 ${metrics.consume50.toFixed(0)}/s, ` +
              `latency p50 ${metrics.latencyP50.toFixed(2)} ms p99 ${metrics.latencyP99.toFixed(2)} ms`,
          );
          await deleteRedisKeys(REDIS_URL, `${prefix}-${system}`);
        }
      }
      const metricRows: [keyof Metrics, string, string, Record<System, string>][] = [
        [
          'enqueueSingle',
          'enqueue one-by-one',
          'jobs/s',
          { tasq: 'enqueue()', bullmq: 'add()', 'bee-queue': 'save()' },
        ],
        [
          'enqueueBulk',
          `enqueue bulk (chunks of ${BULK_CHUNK})`,
          'jobs/s',
          { tasq: 'enqueue(1000 bodies)', bullmq: 'addBulk()', 'bee-queue': 'saveAll()' },
        ],
        [
          'consume1',
          'consume c=1',
          'jobs/s',
          { tasq: 'reserve(max 1) + ack loop', bullmq: 'Worker concurrency 1', 'bee-queue': 'process(1)' },
        ],
        [
          'consume1Overlapped',
          'consume c=1, ack overlapped',
          'jobs/s',
          {
            tasq: 'reserve(max 1) + ack not awaited before the next reserve (one in flight)',
            bullmq: '',
            'bee-queue': '',
          },
        ],
        [
          'consume50',
          'consume c=50',
          'jobs/s',
          {
            tasq: 'reserve(max 50) + 50 concurrent acks',
            bullmq: 'Worker concurrency 50',
            'bee-queue': 'process(50)',
          },
        ],
        [
          'latencyP50',
          'enqueue→start p50',
          'ms',
          { tasq: 'idle reserve', bullmq: 'idle worker c=1', 'bee-queue': 'idle worker c=1' },
        ],
        [
          'latencyP99',
          'enqueue→start p99',
          'ms',
          { tasq: 'idle reserve', bullmq: 'idle worker c=1', 'bee-queue': 'idle worker c=1' },
        ],
      ];
      for (const [key, metric, unit, notes] of metricRows) {
        for (const system of SYSTEMS) {
          const measured = (values.get(system) ?? []).map((m) => m[key]);
          if (measured.some((value) => value === undefined)) continue;
          rows.push({
            suite: 'redis',
            system: system === 'tasq' ? 'tasq (broker level)' : system,
            metric,
            unit,
            values: measured as number[],
            notes: `${notes[system]}; n=${key.startsWith('latency') ? `${latencyJobs}, one every ${LATENCY_SPACING_MS} ms` : n}`,
          });
        }
      }
      const requests = Math.max(20_000, Math.min(200_000, n * 5));
      for (const pipeline of [1, 16]) {
        const perRound = new Map<string, number[]>();
        let available = true;
        for (let round = 0; round < context.rounds && available; round++) {
          const results = await redisBenchmark(prefix, pipeline, requests);
          if (!results) {
            available = false;
            context.log('redis-benchmark is not installed: no server ceiling row');
            break;
          }
          for (const [command, rate] of results)
            perRound.set(command, [...(perRound.get(command) ?? []), rate]);
        }
        for (const [command, rates] of perRound) {
          rows.push({
            suite: 'redis',
            system: 'redis-benchmark',
            metric: `${command} -P ${pipeline}`,
            unit: 'requests/s',
            values: rates,
            notes: `server ceiling, ${requests} requests, 50 clients`,
          });
        }
      }
      return rows;
    } finally {
      await deleteRedisKeys(REDIS_URL, prefix);
    }
  },
};
