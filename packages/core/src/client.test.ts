import { afterEach, describe, expect, it } from 'vitest';
import { BrokerClient } from './broker-client.js';
import { ManualClock } from './clock.js';
import { type Job, connect, type Tasq } from './client.js';
import {
  BrokerConnectionError,
  BrokerError,
  CapabilityError,
  InvalidArgumentError,
  ResultTimeoutError,
  TaskFailedError,
} from './errors.js';
import { executeTask } from './execute.js';
import { MemoryBroker } from './memory/memory-broker.js';
import { defineTask, type TaskContext, TaskRegistry } from './task.js';
import { runtimeServicesOf } from './runtime-services.js';

const add = defineTask('test.add', (a: number, b: number) => a + b);
const concat = defineTask('test.concat', (a: string, b: string) => `${a}${b}`);
const sum = defineTask('test.sum', (values: number[]) => values.reduce((x, y) => x + y, 0));
const boom = defineTask('test.boom', (message: string) => {
  throw new TypeError(message);
});
let flakyCalls = 0;
const flaky = defineTask('test.flaky', { retry: { attempts: 3 } }, () => {
  flakyCalls++;
  if (flakyCalls < 3) throw new Error(`failure ${flakyCalls}`);
  return flakyCalls;
});
const whoAmI = defineTask('test.context', (ctx: TaskContext) => `${ctx.name}#${ctx.attempt}`);

let counter = 0;
const clients: Tasq[] = [];
async function client(extra: Record<string, unknown> = {}): Promise<Tasq> {
  counter++;
  const tasq = await connect({ name: `client-test-${counter}`, brokerClass: 'memory', ...extra });
  clients.push(tasq);
  return tasq;
}

/** What a cluster does, reduced to its core: reserve, decode, run, save, follow up, ack. */
async function work(tasq: Tasq, queue = 'default'): Promise<number> {
  let done = 0;
  for (;;) {
    const deliveries = await runtimeServicesOf(tasq).broker.reserve(queue, {
      max: 10,
      leaseMs: 10_000,
      waitMs: 0,
    });
    if (deliveries.length === 0) return done;
    for (const delivery of deliveries) {
      const pkg = runtimeServicesOf(tasq).codec.decode(delivery.body);
      const result = await executeTask(runtimeServicesOf(tasq).registry, pkg, {
        deliveries: delivery.deliveries,
      });
      await runtimeServicesOf(tasq).results.save(result);
      await runtimeServicesOf(tasq).sendFollowUps(pkg, result);
      await runtimeServicesOf(tasq).broker.ack(delivery);
      done++;
    }
  }
}

/** Swap the client's broker for one whose enqueue fails while `down` is set, as an unreachable server's does. */
function withUnreachableEnqueue(
  tasq: Tasq,
  failure: () => Error = () => new BrokerConnectionError('connect ECONNREFUSED 127.0.0.1:6379'),
): { memory: MemoryBroker; setDown(down: boolean): void } {
  const memory = runtimeServicesOf(tasq).broker.broker as MemoryBroker;
  let down = false;
  const unreliable = new Proxy(memory, {
    get(target, property) {
      if (property === 'enqueue' && down)
        return async () => {
          throw failure();
        };
      const value = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  Object.assign(runtimeServicesOf(tasq), { broker: new BrokerClient(unreliable) });
  return { memory, setDown: (value) => (down = value) };
}

afterEach(async () => {
  for (const tasq of clients.splice(0)) await tasq.close();
});

describe('client', () => {
  it('enqueues a typed job and returns its result once a worker ran it', async () => {
    const tasq = await client();
    const job = await tasq.enqueue(add, 1, 2);
    expect(job.name).toBe('test.add');
    const waiting = job.result({ timeout: 5000 });
    expect(await work(tasq)).toBe(1);
    expect(await waiting).toBe(3);
  });

  it('keeps results for the configured `cached` seconds, then forgets them', async () => {
    const tasq = await client({ cached: 1 });
    const job = await tasq.enqueue(add, 2, 3);
    await work(tasq);
    expect(await job.result({ timeout: 1000 })).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await runtimeServicesOf(tasq).results.get(job.id)).toBeUndefined();
    await expect(job.result({ timeout: 100 })).rejects.toBeInstanceOf(ResultTimeoutError);
  });

  it('refuses task options given after the handler, which would otherwise be ignored', () => {
    expect(() =>
      // @ts-expect-error options after the handler
      defineTask('test.options-last', () => 1, { maxAttempts: 1 }),
    ).toThrow(/task "test.options-last": options go before the handler/);
  });

  it('type-checks arguments against the task handler', async () => {
    const tasq = await client({ sync: true });
    // @ts-expect-error a string where a number is expected
    await tasq.enqueue(add, '1', 2).catch(() => undefined);
    // @ts-expect-error a missing argument
    await tasq.enqueue(add, 1).catch(() => undefined);
    const job: Job<string> = await tasq.enqueue(concat, 'a', 'b');
    expect(await job.result()).toBe('ab');
    const named: Job<string> = await tasq.enqueue(whoAmI);
    expect(await named.result()).toBe('test.context#1');
  });

  it("types a chord callback by the arguments it is given after the members' results", async () => {
    const tasq = await client({ sync: true });
    const scaled = defineTask(
      'test.scaled',
      (values: number[], factor: number) => values.reduce((x, y) => x + y, 0) * factor,
    );
    const chord = await tasq.chord([add.s(1, 2), add.s(3, 4)], scaled.s(10)).enqueue();
    expect(await chord.result()).toBe(100);
    // @ts-expect-error a string where the factor (a number) is expected
    scaled.s('10');
  });

  it('raises the remote error on failure and times out when nobody runs the job', async () => {
    const tasq = await client();
    const failing = await tasq.enqueue(boom, 'kaput');
    await work(tasq);
    const error = await failing.result({ timeout: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect((error as TaskFailedError).remote).toMatchObject({ name: 'TypeError', message: 'kaput' });
    const waiting = await tasq.enqueue(add, 1, 1);
    await expect(waiting.result({ timeout: 100 })).rejects.toBeInstanceOf(ResultTimeoutError);
  });

  it('sends many jobs in one broker call per queue', async () => {
    const tasq = await client();
    const calls: string[] = [];
    const counting = new BrokerClient(runtimeServicesOf(tasq).broker.broker, {
      onCall: (event) => calls.push(event.operation),
    });
    Object.assign(runtimeServicesOf(tasq), { broker: counting });
    const jobs = await tasq.enqueueMany(add, [
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(calls).toEqual(['enqueue']);
    await work(tasq);
    expect(await Promise.all(jobs.map((job) => job.result()))).toEqual([2, 4, 6]);
  });

  it('enqueues by name with options, and honours a delay', async () => {
    const tasq = await client();
    const job = await tasq.enqueueByName('test.add', [20, 22], { queue: 'other', delay: '300ms' });
    expect(await work(tasq, 'other')).toBe(0);
    expect((await runtimeServicesOf(tasq).broker.size('other')).delayed).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await work(tasq, 'other')).toBe(1);
    expect(await job.result()).toBe(42);
  });

  it('does not send a job twice when the caller gives the same id', async () => {
    const tasq = await client();
    await tasq.enqueueWith(add, [1, 2], { id: 'order-42-confirmation' });
    await tasq.enqueueWith(add, [1, 2], { id: 'order-42-confirmation' });
    expect((await runtimeServicesOf(tasq).broker.size('default')).ready).toBe(1);
  });

  it('sends a retry of a chosen-id enqueue that failed, and still drops a later duplicate', async () => {
    const tasq = await client();
    const { memory, setDown } = withUnreachableEnqueue(tasq);
    setDown(true);
    await expect(tasq.enqueueWith(add, [1, 2], { id: 'invoice-7' })).rejects.toBeInstanceOf(
      BrokerConnectionError,
    );
    setDown(false);
    const job = await tasq.enqueueWith(add, [1, 2], { id: 'invoice-7' });
    await tasq.enqueueWith(add, [1, 2], { id: 'invoice-7' });
    expect((await memory.size('default')).ready).toBe(1);
    await work(tasq);
    expect(await job.result({ timeout: 1000 })).toBe(3);
  });

  it("keeps sending a finished link's follow-up while the broker is briefly unreachable", async () => {
    const tasq = await client();
    const chain = await tasq.chain([add.s(1, 2), add.s(10)]).enqueue();
    const [delivery] = await runtimeServicesOf(tasq).broker.reserve('default', {
      max: 1,
      leaseMs: 10_000,
      waitMs: 0,
    });
    const pkg = runtimeServicesOf(tasq).codec.decode(delivery!.body);
    const result = await executeTask(runtimeServicesOf(tasq).registry, pkg, { deliveries: 1 });
    const { memory, setDown } = withUnreachableEnqueue(tasq);
    setDown(true);
    setTimeout(() => setDown(false), 400);
    await runtimeServicesOf(tasq).sendFollowUps(pkg, result);
    expect((await memory.size('default')).ready).toBe(1);
    await memory.ack(delivery!);
    await work(tasq);
    expect(await chain.result({ timeout: 1000 })).toBe(13);
  });

  it("sends a chord's callback on the member's next run when it could not be sent, and only once", async () => {
    const tasq = await client();
    const callback = await tasq.chord([add.s(1, 1)], sum.s()).enqueue();
    const [delivery] = await runtimeServicesOf(tasq).broker.reserve('default', {
      max: 1,
      leaseMs: 10_000,
      waitMs: 0,
    });
    const pkg = runtimeServicesOf(tasq).codec.decode(delivery!.body);
    const result = await executeTask(runtimeServicesOf(tasq).registry, pkg, { deliveries: 1 });
    await runtimeServicesOf(tasq).results.save(result);
    const { memory, setDown } = withUnreachableEnqueue(tasq, () => new BrokerError('message refused'));
    setDown(true);
    await expect(runtimeServicesOf(tasq).sendFollowUps(pkg, result)).rejects.toThrow('message refused');
    setDown(false);
    // The member's next run finishes the chord: its callback goes out, and only once.
    await runtimeServicesOf(tasq).sendFollowUps(pkg, result);
    await runtimeServicesOf(tasq).sendFollowUps(pkg, result);
    await memory.ack(delivery!);
    expect(await work(tasq)).toBe(1);
    expect(await callback.result({ timeout: 1000 })).toBe(2);
  });

  it('has no cluster-wide rate limiter when the broker package offers none', async () => {
    const tasq = await client();
    expect(await runtimeServicesOf(tasq).rateLimiter()).toBeUndefined();
  });

  it('refuses a priority on a broker without priorities before sending anything', async () => {
    const tasq = await client();
    const plain = new MemoryBroker();
    Object.defineProperty(plain, 'capabilities', { value: { ...plain.capabilities, priority: false } });
    Object.assign(runtimeServicesOf(tasq), { broker: new BrokerClient(plain) });
    await expect(tasq.enqueueWith(add, [1, 2], { priority: 5 })).rejects.toBeInstanceOf(CapabilityError);
    expect((await plain.size('default')).ready).toBe(0);
  });

  it('refuses arguments that are not a list and options that are not an object, sending nothing', async () => {
    const tasq = await client();
    const untyped = tasq as unknown as {
      enqueueWith(task: unknown, args: unknown, options: unknown): Promise<unknown>;
      enqueueByName(name: string, args: unknown, options?: unknown): Promise<unknown>;
    };
    // The mistake a JavaScript caller makes: options where the argument list belongs.
    await expect(untyped.enqueueWith(add, { priority: 5 }, 'x')).rejects.toThrow(
      /arguments of test.add must be a list, got an object/,
    );
    await expect(untyped.enqueueWith(add, [1, 2], 'fast')).rejects.toThrow(
      /enqueue options of test.add must be an object, got string "fast"/,
    );
    await expect(untyped.enqueueByName('test.add', 'oops')).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await runtimeServicesOf(tasq).broker.size('default')).ready).toBe(0);
  });

  it('runs a chain, passing each result to the next link; its handle gives the last result', async () => {
    const tasq = await client();
    const chain = await tasq.chain([add.s(1, 2), add.s(10), add.s(100)]).enqueue();
    expect(chain.name).toBe('test.add');
    await work(tasq);
    expect(await chain.result({ timeout: 1000 })).toBe(113);
    const results = await runtimeServicesOf(tasq).results.list({ limit: 10 });
    expect(results.map((r) => r.result).sort((a, b) => Number(a) - Number(b))).toEqual([3, 13, 113]);
  });

  it('fails a chain handle with the link that stopped it, and runs nothing after that link', async () => {
    const tasq = await client();
    const chain = await tasq.chain([add.s(1, 2), boom.s(), concat.s('never')]).enqueue();
    expect(await work(tasq)).toBe(2);
    const outcome = await chain.outcome();
    expect(outcome).toMatchObject({ id: chain.id, name: 'test.concat', status: 'failure' });
    expect(outcome?.error?.name).toBe('ChainFailedError');
    expect(outcome?.error?.message).toMatch(/^chain stopped at test\.boom \([^)]+\): 3$/);
    await expect(chain.result({ timeout: 1000 })).rejects.toThrow(
      /ChainFailedError: chain stopped at test\.boom/,
    );
  });

  it('enqueues a chain link once when the link before it is run and followed up twice', async () => {
    const tasq = await client();
    await tasq.chain([add.s(1, 2), add.s(10)]).enqueue();
    const [delivery] = await runtimeServicesOf(tasq).broker.reserve('default', {
      max: 1,
      leaseMs: 10_000,
      waitMs: 0,
    });
    const pkg = runtimeServicesOf(tasq).codec.decode(delivery!.body);
    const result = await executeTask(runtimeServicesOf(tasq).registry, pkg, { deliveries: 1 });
    // A cluster that died after the follow-up but before the ack runs the link again.
    await runtimeServicesOf(tasq).sendFollowUps(pkg, result);
    await runtimeServicesOf(tasq).sendFollowUps(pkg, result);
    expect((await runtimeServicesOf(tasq).broker.size('default')).ready).toBe(1);
  });

  it("gives chain, group and chord jobs their task's options, under the signature's and the call's", async () => {
    const tasq = await client();
    const report = defineTask(
      'test.report',
      { queue: 'reports', priority: 7, timeout: '5s', retry: { attempts: 4 } },
      (x: unknown) => x,
    );
    const queued = async (queue: string) =>
      (await runtimeServicesOf(tasq).broker.reserve(queue, { max: 10, leaseMs: 10_000, waitMs: 0 })).map(
        (delivery) => runtimeServicesOf(tasq).codec.decode(delivery.body),
      );
    await tasq.group([report.s(1), report.s(2).with({ priority: 2 })]).enqueue();
    expect(
      (await queued('reports')).map(({ priority, timeoutMs, retry }) => ({ priority, timeoutMs, retry })),
    ).toEqual([
      { priority: 7, timeoutMs: 5000, retry: { attempts: 4 } },
      { priority: 2, timeoutMs: 5000, retry: { attempts: 4 } },
    ]);
    // A chain's later links carry their options with them: the cluster that sends them may not know the task.
    await tasq.chain([add.s(1, 2), report.s(), add.s(3)]).enqueue({ maxAttempts: 2, delay: '20ms' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    const [first] = await queued('default');
    // The delay is the chain's start: the first link's, not carried to the others.
    expect(first!.eta).toBeGreaterThan(first!.enqueuedAt);
    expect(first).toMatchObject({ name: 'test.add', maxAttempts: 2 });
    expect(first!.chain).toEqual([
      expect.objectContaining({
        name: 'test.report',
        options: { queue: 'reports', priority: 7, timeoutMs: 5000, retry: { attempts: 4 }, maxAttempts: 2 },
      }),
      // A link without a queue of its own goes where the client sends what names none, whichever
      // cluster sends it.
      expect.objectContaining({ name: 'test.add', options: { queue: 'default', maxAttempts: 2 } }),
    ]);
    await tasq.chord([add.s(1, 1)], report.s()).enqueue({ queue: 'batch' });
    const [member] = await queued('batch');
    // The call's options are the members'; the callback keeps its task's.
    expect(member!.chord!.callback.options).toEqual({
      queue: 'reports',
      priority: 7,
      timeoutMs: 5000,
      retry: { attempts: 4 },
    });
  });

  it('runs a chord callback once with the group results in order', async () => {
    const tasq = await client();
    const callback = await tasq.chord([add.s(1, 1), add.s(2, 2), add.s(3, 3)], sum.s()).enqueue();
    await work(tasq);
    expect(await callback.result({ timeout: 1000 })).toBe(12);
    const group = await tasq.group([concat.s('a', '1'), concat.s('b', '2')]).enqueue();
    await work(tasq);
    expect(await group.values()).toEqual(['a1', 'b2']);
  });

  it('runs everything inline in sync mode, with the task retry policy', async () => {
    const tasq = await client({ sync: true });
    flakyCalls = 0;
    const job = await tasq.enqueue(flaky);
    expect(await job.result()).toBe(3);
    const chord = await tasq.chord([add.s(1, 2), add.s(3, 4)], sum.s()).enqueue();
    expect(await chord.result()).toBe(10);
    expect((await runtimeServicesOf(tasq).broker.size('default')).ready).toBe(0);
  });

  it('puts every link of a chain enqueued with a group in that group, in chain order', async () => {
    const tasq = await client();
    const chain = await tasq.chain([add.s(1, 2), add.s(10), add.s(100)]).enqueue({ group: 'totals' });
    await work(tasq);
    expect(await chain.result({ timeout: 1000 })).toBe(113);
    const members = await tasq.groupResults('totals');
    expect(members.map((member) => member.result)).toEqual([3, 13, 113]);
    expect(members.map((member) => member.groupIndex)).toEqual([0, 1, 2]);
  });

  it('rejects a sync-mode enqueue with the error the task threw, after storing the failure', async () => {
    const tasq = await client({ sync: true });
    const thrown = await tasq.enqueue(boom, 'kaput').catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toBe('kaput');
    const [stored] = await runtimeServicesOf(tasq).results.list({ status: 'failure', limit: 1 });
    expect(stored).toMatchObject({ name: 'test.boom', error: { name: 'TypeError', message: 'kaput' } });
    // A chain fails where its link fails; the links before it ran, the chain's end records the stop.
    const before = (await runtimeServicesOf(tasq).results.list({ status: 'success', limit: 10 })).length;
    await expect(tasq.chain([add.s(1, 2), boom.s(), concat.s('never')]).enqueue()).rejects.toThrow(/^3$/);
    expect((await runtimeServicesOf(tasq).results.list({ status: 'success', limit: 10 })).length).toBe(
      before + 1,
    );
    // Every job of a batch runs; the first failure is what the caller sees.
    await expect(tasq.enqueueMany(boom, [['first'], ['second']])).rejects.toThrow('first');
    expect(
      (await runtimeServicesOf(tasq).results.list({ status: 'failure', name: 'test.boom', limit: 10 }))
        .length,
    ).toBe(4);
    // A task that succeeds after its retry policy's runs does not raise.
    flakyCalls = 0;
    expect(await (await tasq.enqueue(flaky)).result()).toBe(3);
  });

  it("enqueues for an alt cluster into its queue, and sends scheduled runs to the deployment's queue", async () => {
    const clock = new ManualClock(Date.UTC(2030, 0, 1));
    const tasq = await connect(
      { name: `client-test-alt-${++counter}`, brokerClass: 'memory', altClusters: { short: {} } },
      { cluster: 'short', clock },
    );
    clients.push(tasq);
    const job = await tasq.enqueue(add, 1, 2);
    expect(job.queue).toBe('short');
    expect((await runtimeServicesOf(tasq).broker.size('short')).ready).toBe(1);
    // The alt cluster may lead the scheduler: a run that names no queue still goes to the deployment's.
    await tasq.schedule(add, [2, 3], { name: 'every-minute', kind: 'minutes', minutes: 1 });
    const scheduler = await runtimeServicesOf(tasq).createScheduler('short@test');
    expect(await scheduler.tick()).toBe(1);
    expect((await runtimeServicesOf(tasq).broker.size('default')).ready).toBe(1);
    expect((await runtimeServicesOf(tasq).broker.size('short')).ready).toBe(1);
  });

  it('keeps chord members for their callback even when results are not to be saved', async () => {
    const tasq = await client({ sync: true });
    const chord = await tasq.chord([add.s(1, 2), add.s(3, 4)], sum.s()).enqueue({ saveResult: false });
    expect(await chord.result({ timeout: 1000 })).toBe(10);
  });

  it('fails a run given too few arguments, naming the expected and given counts', async () => {
    const registry = new TaskRegistry();
    const run = async (handler: (...args: any[]) => unknown, args: unknown[]) => {
      registry.register({
        name: `count.${registry.names().length}`,
        options: {},
        handler,
        s: () => undefined as never,
      });
      const name = registry.names().at(-1)!;
      return executeTask(registry, { id: 'x', name, args, queue: 'q', enqueuedAt: 0 });
    };
    // (a, b) => a + b given [1]: the context lands in b and `1 + ctx` used to be "1[object Object]".
    const short = await run((a: number, b: number) => a + b, [1]);
    expect(short.status).toBe('failure');
    expect(short.error).toMatchObject({ name: 'TaskArgumentsError' });
    expect(short.error?.message).toMatch(
      /was given 1 argument but takes 2: its parameter 2 received the task context/,
    );
    // Three parameters given one: the last may be the context, so both counts are possible.
    const three = await run((a: number, b: number, c: number) => a * b * c, [2]);
    expect(three.error?.message).toMatch(/was given 1 argument but takes 2 or 3: /);
    // An optional parameter that received the context: no count is certain, the remedy is named.
    const optional = await run((a: number, b = 10) => a + b, [1]);
    expect(optional.error?.message).toMatch(
      /was given 1 argument; the task context, which follows the arguments, landed in its parameter 2 \(optional or rest\)/,
    );
    const rest = await run((...values: number[]) => values.reduce((x, y) => x + y, 0), [1, 2]);
    expect(rest.error?.message).toMatch(/was given 2 arguments; the task context.* parameter 3 /);
    // Right counts, and a context that is only read, run as before.
    expect((await run((a: number, b: number) => a + b, [1, 2])).result).toBe(3);
    expect((await run((a: number, ctx: TaskContext) => `${a}@${ctx.queue}`, [1])).result).toBe('1@q');
    expect((await run((a: number, b?: number) => a + (b ?? 0), [1, 2])).result).toBe(3);
  });

  it('runs an unknown task name as a failure naming the task', async () => {
    const result = await executeTask(new TaskRegistry(), {
      id: 'x',
      name: 'nope.missing',
      args: [],
      queue: 'q',
      enqueuedAt: 0,
    });
    expect(result.status).toBe('failure');
    expect(result.error?.message).toContain('unknown task "nope.missing"');
  });
});
