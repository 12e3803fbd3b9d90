/**
 * SQS, broker level, against the fauxqs emulator: tasq's SQS broker beside `sqs-consumer` 15 (the usual
 * Node consumer) and the bare `@aws-sdk/client-sqs` (what an sqs-consumer user enqueues with: it has no
 * producer), in the same run, rounds interleaved. All three use the same SDK version over HTTP.
 *
 * These are client-overhead figures against an emulator, not AWS: fauxqs answers from memory on this
 * machine in well under a millisecond, where an AWS round trip takes tens of milliseconds, so on AWS
 * every figure here would be bounded by the network and far lower. The emulator runs in a child process
 * of its own, so it does not share the clients' event loop (it does share the machine's two cores).
 *
 * Same work for every system: bodies are ~60-byte task packages sent base64-encoded (as tasq sends
 * them); consumers take batches of 10 with a 30 s visibility timeout and delete each message; one poll
 * loop per system (sqs-consumer's model; tasq's cluster runs one fetcher per queue too).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  CreateQueueCommand,
  type Message,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SqsBroker } from '@tasq/sqs';
import { Consumer } from 'sqs-consumer';
import type { BenchContext, BenchRow, BenchSuite } from '../harness.js';

/** This suite's default size: SQS calls cost more than a Redis command, and the machine is shared. */
const DEFAULT_N = 2000;
/** Packages per tasq enqueue call in the batch case (the broker splits them into batches of 10). */
const BULK_CHUNK = 1000;
/** Packages per case in the untimed warm-up round. */
const WARM_UP_N = 500;
/** Concurrent SendMessageBatch calls: what tasq's broker uses for one enqueue; the bare SDK gets the same. */
const BATCH_CONCURRENCY = 4;
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const REGION = 'us-east-1';
const NOTE =
  'client overhead against the fauxqs emulator (separate process, same machine), not AWS: on AWS the network round trip dominates';

function body(index: number): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ task: 'bench.noop', args: [index], id: index }));
}

function encoded(index: number): string {
  return Buffer.from(body(index)).toString('base64');
}

/** Start fauxqs in a child process on a free port; resolves its endpoint and a stop function. */
async function startEmulator(): Promise<{ endpoint: string; stop(): void }> {
  const moduleUrl = import.meta.resolve('fauxqs');
  const script =
    `const { startFauxqs } = await import(${JSON.stringify(moduleUrl)});` +
    'const server = await startFauxqs({ port: 0, logger: false });' +
    'console.log(JSON.stringify({ address: server.address }));';
  const child = spawn(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { address: string }).address);
    });
    child.once('exit', (code) => reject(new Error(`fauxqs exited with code ${code} before it listened`)));
    child.once('error', reject);
  });
  return { endpoint, stop: () => child.kill() };
}

interface Emulator {
  endpoint: string;
  client: SQSClient;
}

async function createQueue(emulator: Emulator, name: string): Promise<string> {
  const created = await emulator.client.send(new CreateQueueCommand({ QueueName: name }));
  return created.QueueUrl!;
}

function rate(count: number, startedAt: number): number {
  return count / ((performance.now() - startedAt) / 1000);
}

// ------------------------------------------------------------------------------------------- tasq

async function tasqEnqueue(
  emulator: Emulator,
  n: number,
  tag: string,
): Promise<{ single: number; batch: number }> {
  const broker = new SqsBroker({
    endpoint: emulator.endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    createQueues: true,
  });
  try {
    // Resolve (and create) the queues outside the timed part.
    await broker.enqueue(`${tag}-single`, [body(-1)]);
    await broker.enqueue(`${tag}-batch`, [body(-1)]);
    let started = performance.now();
    for (let i = 0; i < n; i++) await broker.enqueue(`${tag}-single`, [body(i)]);
    const single = rate(n, started);
    started = performance.now();
    for (let i = 0; i < n; i += BULK_CHUNK) {
      await broker.enqueue(
        `${tag}-batch`,
        Array.from({ length: Math.min(BULK_CHUNK, n - i) }, (_, j) => body(i + j)),
      );
    }
    return { single, batch: rate(n, started) };
  } finally {
    await broker.close();
  }
}

async function tasqConsume(emulator: Emulator, n: number, queue: string): Promise<number> {
  const broker = new SqsBroker({ endpoint: emulator.endpoint, region: REGION, credentials: CREDENTIALS });
  try {
    let done = 0;
    const started = performance.now();
    while (done < n) {
      const batch = await broker.reserve(queue, { max: 10, leaseMs: 30_000, waitMs: 1000 });
      await Promise.all(batch.map((delivery) => broker.ack(delivery)));
      done += batch.length;
    }
    return rate(n, started);
  } finally {
    await broker.close();
  }
}

// ------------------------------------------------------------------------- bare SDK / sqs-consumer

async function sdkEnqueue(
  emulator: Emulator,
  n: number,
  tag: string,
): Promise<{ single: number; batch: number }> {
  const singleUrl = await createQueue(emulator, `${tag}-single`);
  const batchUrl = await createQueue(emulator, `${tag}-batch`);
  let started = performance.now();
  for (let i = 0; i < n; i++) {
    await emulator.client.send(new SendMessageCommand({ QueueUrl: singleUrl, MessageBody: encoded(i) }));
  }
  const single = rate(n, started);
  started = performance.now();
  let next = 0;
  const sender = async () => {
    while (next < n) {
      const start = next;
      next = Math.min(n, next + 10);
      const entries = [];
      for (let i = start; i < next; i++) entries.push({ Id: String(i - start), MessageBody: encoded(i) });
      await emulator.client.send(new SendMessageBatchCommand({ QueueUrl: batchUrl, Entries: entries }));
    }
  };
  await Promise.all(Array.from({ length: BATCH_CONCURRENCY }, sender));
  return { single, batch: rate(n, started) };
}

async function sqsConsumerConsume(
  emulator: Emulator,
  n: number,
  queueUrl: string,
  mode: 'handleMessage' | 'handleMessageBatch',
): Promise<number> {
  let done = 0;
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const consumer = Consumer.create({
    queueUrl,
    sqs: emulator.client,
    batchSize: 10,
    visibilityTimeout: 30,
    waitTimeSeconds: 1,
    ...(mode === 'handleMessage'
      ? { handleMessage: async (message: Message) => message }
      : { handleMessageBatch: async (messages: Message[]) => messages }),
  });
  consumer.on('message_processed', () => {
    if (++done === n) finish();
  });
  consumer.on('error', (error) => fail(error));
  const started = performance.now();
  consumer.start();
  try {
    await finished;
    return rate(n, started);
  } finally {
    consumer.stop();
  }
}

/** Fill a fresh queue with n messages, untimed. */
async function prefilled(emulator: Emulator, n: number, name: string): Promise<string> {
  const url = await createQueue(emulator, name);
  for (let i = 0; i < n; i += 10) {
    const entries = [];
    for (let j = i; j < Math.min(n, i + 10); j++)
      entries.push({ Id: String(j - i), MessageBody: encoded(j) });
    await emulator.client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries }));
  }
  return url;
}

// ------------------------------------------------------------------------------------------ suite

type Row = { system: string; metric: string; values: number[] };

export const suite: BenchSuite = {
  name: 'sqs',
  description:
    "tasq's SQS broker vs sqs-consumer 15 and the bare AWS SDK on the fauxqs emulator: enqueue (single, batch) and consume + delete; client overhead only, not AWS",
  async run(ctx: BenchContext): Promise<BenchRow[]> {
    const n = Number(process.env.TASQ_BENCH_SQS_N ?? Math.min(ctx.n, DEFAULT_N));
    const server = await startEmulator();
    const client = new SQSClient({ endpoint: server.endpoint, region: REGION, credentials: CREDENTIALS });
    const emulator: Emulator = { endpoint: server.endpoint, client };
    const rows = new Map<string, Row>();
    const record = (system: string, metric: string, value: number) => {
      const key = `${system}\u0000${metric}`;
      if (!rows.has(key)) rows.set(key, { system, metric, values: [] });
      rows.get(key)!.values.push(value);
    };
    const consumers = ['tasq', 'sqs-consumer handleMessage', 'sqs-consumer handleMessageBatch'] as const;
    /** One round of every case; `keep` false for the warm-up round, whose figures are dropped. */
    const round = async (index: number, size: number, keep: boolean) => {
      const tag = `bench-${randomBytes(4).toString('hex')}`;
      const label = keep ? `round ${index + 1}` : 'warm-up';
      // Interleave: who goes first changes every round.
      const producers = index % 2 === 0 ? (['tasq', 'sdk'] as const) : (['sdk', 'tasq'] as const);
      for (const system of producers) {
        const result =
          system === 'tasq'
            ? await tasqEnqueue(emulator, size, `${tag}-tasq`)
            : await sdkEnqueue(emulator, size, `${tag}-sdk`);
        const name = system === 'tasq' ? 'tasq' : 'aws-sdk (bare)';
        if (keep) {
          record(name, 'enqueue one by one', result.single);
          record(name, 'enqueue batch', result.batch);
        }
        ctx.log(
          `sqs ${label}: ${name} enqueue one by one ${result.single.toFixed(0)}/s, batch ${result.batch.toFixed(0)}/s`,
        );
      }
      const shift = index % consumers.length;
      for (const system of [...consumers.slice(shift), ...consumers.slice(0, shift)]) {
        const queue = `${tag}-consume-${system === 'tasq' ? 'tasq' : system.endsWith('Batch') ? 'batch' : 'single'}`;
        const url = await prefilled(emulator, size, queue);
        const value =
          system === 'tasq'
            ? await tasqConsume(emulator, size, queue)
            : await sqsConsumerConsume(
                emulator,
                size,
                url,
                system.endsWith('Batch') ? 'handleMessageBatch' : 'handleMessage',
              );
        if (keep) record(system, 'consume + delete', value);
        ctx.log(`sqs ${label}: ${system} consume + delete ${value.toFixed(0)}/s`);
      }
    };
    try {
      ctx.log(`sqs: fauxqs at ${server.endpoint}, n=${n}, ${ctx.rounds} rounds after a warm-up round`);
      // Warm up the JIT, the sockets and the emulator, so round 1 is not the slow one.
      await round(0, Math.min(n, WARM_UP_N), false);
      for (let index = 0; index < ctx.rounds; index++) await round(index, n, true);
    } finally {
      client.destroy();
      server.stop();
    }
    const notes: Record<string, string> = {
      'enqueue one by one': `${NOTE}; sqs-consumer has no producer, so the peer is the bare SDK's SendMessage`,
      'enqueue batch': `${NOTE}; SendMessageBatch of 10, ${BATCH_CONCURRENCY} in flight for both`,
      'consume + delete': `${NOTE}; batches of 10, one poll loop; tasq acks share DeleteMessageBatch, sqs-consumer handleMessage deletes one by one`,
    };
    return [...rows.values()].map((row) => ({
      suite: 'sqs',
      system: row.system,
      metric: row.metric,
      unit: 'jobs/s',
      values: row.values,
      notes: notes[row.metric],
    }));
  },
};
