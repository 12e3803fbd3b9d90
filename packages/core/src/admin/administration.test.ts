/**
 * The administration API over a client on the memory broker and backend: a job's state through its
 * lifecycle, lists, cancel, retry, remove, dead letters, pause, progress and expiry, and the refusals.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Tasq } from '../client.js';
import { InvalidArgumentError } from '../errors.js';
import { executeTask } from '../execute.js';
import { defineTask } from '../task.js';
import { Administration } from './administration.js';
import { JobStateError, UnknownJobError, UnsupportedOperationError } from './errors.js';
import { runtimeServicesOf } from '../runtime-services.js';

const add = defineTask('admin.add', (a: number, b: number) => a + b);
const fail = defineTask('admin.fail', (message: string) => {
  throw new Error(message);
});

let counter = 0;
const clients: Tasq[] = [];
async function client(): Promise<Tasq> {
  counter++;
  const tasq = await connect({ name: `admin-test-${counter}`, brokerClass: 'memory' });
  clients.push(tasq);
  return tasq;
}

afterEach(async () => {
  for (const tasq of clients.splice(0)) await tasq.close();
});

/** Run what is ready on `queue` the way a cluster would, without follow-ups: reserve, run, save, ack. */
async function work(tasq: Tasq, queue = 'default', options: { saveArgs?: boolean } = {}): Promise<number> {
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
      await runtimeServicesOf(tasq).results.save(options.saveArgs ? { ...result, args: pkg.args } : result);
      await runtimeServicesOf(tasq).broker.ack(delivery);
      done++;
    }
  }
}

describe('Administration', () => {
  it('follows a job by id: queued, running, succeeded; scheduled; unknown for an id nobody knows', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    const job = await tasq.enqueue(add, 1, 2);
    expect(await admin.job(job.id)).toMatchObject({
      id: job.id,
      state: 'queued',
      task: 'admin.add',
      queue: 'default',
      attempts: 0,
      source: 'broker',
    });
    expect((await admin.job(job.id, { args: true })).args).toEqual([1, 2]);
    const [delivery] = await runtimeServicesOf(tasq).broker.reserve('default', {
      max: 1,
      leaseMs: 10_000,
      waitMs: 0,
    });
    expect(await admin.job(job.id)).toMatchObject({ state: 'running', attempts: 1 });
    await runtimeServicesOf(tasq).broker.release(delivery!);
    await work(tasq);
    const done = await admin.job(job.id, { result: true });
    expect(done).toMatchObject({ state: 'succeeded', source: 'results', result: 3 });
    expect(done.finishedAt).toBeGreaterThanOrEqual(done.startedAt!);
    const later = await tasq.enqueueWith(add, [3, 4], { delay: '1h' });
    expect(await admin.job(later.id)).toMatchObject({ state: 'scheduled' });
    expect((await admin.job(later.id)).dueAt).toBeGreaterThan(Date.now() + 3_000_000);
    expect(await admin.job('never-enqueued')).toEqual({
      id: 'never-enqueued',
      state: 'unknown',
      source: 'none',
    });
  });

  it('lists waiting jobs newest first with a cursor, by state and task, and finished ones from the results', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    const jobs = [];
    for (let index = 0; index < 5; index++) jobs.push(await tasq.enqueue(add, index, index));
    const failing = await tasq.enqueue(fail, 'nope');
    const first = await admin.jobs({ limit: 4 });
    expect(first.jobs.map((job) => job.id)).toEqual([
      failing.id,
      ...jobs
        .slice(2)
        .map((job) => job.id)
        .reverse(),
    ]);
    const second = await admin.jobs({ limit: 4, cursor: first.next! });
    expect(second.jobs.map((job) => job.id)).toEqual(
      jobs
        .slice(0, 2)
        .map((job) => job.id)
        .reverse(),
    );
    expect(second.next).toBeUndefined();
    expect((await admin.jobs({ task: 'admin.fail' })).jobs.map((job) => job.id)).toEqual([failing.id]);
    await work(tasq);
    expect((await admin.jobs({ state: 'queued' })).jobs).toEqual([]);
    expect((await admin.jobs({ state: 'failed' })).jobs.map((job) => job.id)).toEqual([failing.id]);
    const succeeded = await admin.jobs({ state: 'succeeded', limit: 2 });
    expect(succeeded.jobs.map((job) => job.id)).toEqual([jobs[4]!.id, jobs[3]!.id]);
    expect(succeeded.next).toBe(jobs[3]!.id);
    await expect(admin.jobs({ state: 'asleep' as never })).rejects.toThrow(InvalidArgumentError);
    await expect(admin.jobs({ limit: 0 })).rejects.toThrow(/limit must be an integer from 1 to 1000/);
  });

  it('cancels a waiting job (stored as cancelled, never run) and refuses a finished or unknown one', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    const job = await tasq.enqueue(add, 1, 1);
    expect(await admin.cancel(job.id, 'not needed')).toEqual({ id: job.id, outcome: 'cancelled' });
    expect(await work(tasq)).toBe(0);
    const view = await admin.job(job.id);
    expect(view).toMatchObject({ state: 'cancelled', error: { name: 'JobCancelledError' } });
    expect(view.cancelMark).toMatchObject({ reason: 'not needed' });
    await expect(job.result({ timeout: '1s' })).rejects.toThrow(/JobCancelledError/);
    await expect(admin.cancel(job.id)).rejects.toMatchObject({ code: 'ALREADY_FINISHED' });
    await expect(admin.cancel('nobody-knows')).rejects.toBeInstanceOf(UnknownJobError);
    expect((await admin.jobs({ state: 'cancelled' })).jobs.map((listed) => listed.id)).toEqual([job.id]);
  });

  it('marks a running job cancelled for its cluster to stop, and the mark is readable in a batch', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    const job = await tasq.enqueue(add, 1, 1);
    await runtimeServicesOf(tasq).broker.reserve('default', { max: 1, leaseMs: 10_000, waitMs: 0 });
    expect(await admin.cancel(job.id)).toEqual({ id: job.id, outcome: 'cancelling' });
    expect((await admin.cancelMarks([job.id, 'other'])).map((mark) => mark.jobId)).toEqual([job.id]);
    expect(await admin.job(job.id)).toMatchObject({ state: 'running', cancelMark: { jobId: job.id } });
  });

  it('removes a waiting job, and refuses one that is not waiting', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    const job = await tasq.enqueue(add, 1, 1);
    await admin.remove(job.id);
    expect((await admin.job(job.id)).state).toBe('unknown');
    await expect(admin.remove(job.id)).rejects.toBeInstanceOf(UnknownJobError);
    const running = await tasq.enqueue(add, 2, 2);
    await runtimeServicesOf(tasq).broker.reserve('default', { max: 1, leaseMs: 10_000, waitMs: 0 });
    await expect(admin.remove(running.id)).rejects.toMatchObject({ code: 'WRONG_STATE' });
  });

  it('requeues a dead letter with fresh attempts, once when two operators race, and retries it by id', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    // A package on its third run of the task's retry policy: requeued, it starts from the first again.
    const [sent] = await runtimeServicesOf(tasq).send([
      { ...runtimeServicesOf(tasq).buildPackage({ name: 'admin.add', args: [2, 3] }, {}), attempt: 3 },
    ]);
    const job = sent!;
    const [delivery] = await runtimeServicesOf(tasq).broker.reserve('default', {
      max: 1,
      leaseMs: 10_000,
      waitMs: 0,
    });
    await runtimeServicesOf(tasq).broker.deadLetter(delivery!, 'failed 3 times');
    const dead = await admin.deadLetters({});
    expect(dead.jobs).toMatchObject([
      { id: job.id, state: 'dead', deadReason: 'failed 3 times', attempts: 1, attempt: 3 },
    ]);
    const [mine, theirs] = await Promise.all([admin.requeueDead([job.id]), admin.requeueDead([job.id])]);
    expect([...mine.requeued, ...theirs.requeued]).toEqual([job.id]);
    expect([...mine.notDead, ...theirs.notDead]).toEqual([job.id]);
    expect(await admin.job(job.id)).toMatchObject({ state: 'queued', attempts: 0, attempt: 1 });
    const [again] = await runtimeServicesOf(tasq).broker.reserve('default', {
      max: 1,
      leaseMs: 10_000,
      waitMs: 0,
    });
    await runtimeServicesOf(tasq).broker.deadLetter(again!, 'failed again');
    expect(await admin.retry(job.id)).toEqual({ id: job.id, from: 'dead-letter' });
    expect(await work(tasq)).toBe(1);
    expect(await job.result()).toBe(5);
    await expect(admin.requeueDead([job.id])).resolves.toEqual({ requeued: [], notDead: [job.id] });
  });

  it('a requeued dead letter no longer answers with the failure it died of, and keeps it when the requeue fails', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    const services = runtimeServicesOf(tasq);
    const job = await tasq.enqueue(add, 4, 5);
    const [delivery] = await services.broker.reserve('default', { max: 1, leaseMs: 10_000, waitMs: 0 });
    // What a cluster does when a job runs out of attempts: the failure is stored, the package dead-lettered.
    const failure = {
      id: job.id,
      name: 'admin.add',
      queue: 'default',
      status: 'failure' as const,
      error: { name: 'Error', message: 'out of attempts' },
      attempts: 3,
      enqueuedAt: 1,
      startedAt: 2,
      stoppedAt: 3,
    };
    await services.results.save(failure);
    await services.broker.deadLetter(delivery!, 'failed 3 times');

    // A requeue the broker refuses leaves the stored failure where it was.
    const brokerAdmin = services.broker.broker.administration!;
    const requeue = brokerAdmin.requeueDead!.bind(brokerAdmin);
    brokerAdmin.requeueDead = async () => {
      throw new Error('broker unreachable');
    };
    await expect(admin.requeueDead([job.id])).rejects.toThrow(/unreachable/);
    expect(await services.results.get(job.id)).toMatchObject({ status: 'failure' });
    brokerAdmin.requeueDead = requeue;

    expect(await admin.requeueDead([job.id])).toEqual({ requeued: [job.id], notDead: [] });
    expect(await services.results.get(job.id)).toBeUndefined();
    expect((await admin.job(job.id)).state).toBe('queued');
    expect(await work(tasq)).toBe(1);
    expect(await job.result()).toBe(9);
  });

  it('requeues all dead letters of a task, purges and trims them', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    for (let index = 0; index < 3; index++) await tasq.enqueue(add, index, 0);
    await tasq.enqueue(fail, 'x');
    const deliveries = await runtimeServicesOf(tasq).broker.reserve('default', {
      max: 10,
      leaseMs: 10_000,
      waitMs: 0,
    });
    for (const delivery of deliveries) await runtimeServicesOf(tasq).broker.deadLetter(delivery, 'gave up');
    expect(await admin.requeueAllDead({ task: 'admin.add' })).toHaveLength(3);
    expect((await admin.deadLetters({})).jobs.map((job) => job.task)).toEqual(['admin.fail']);
    expect(await admin.trimDeadLetters('default', { maxCount: 1 })).toBe(0);
    expect(await admin.purgeDead({})).toBe(1);
    await expect(admin.trimDeadLetters('default', {})).rejects.toThrow(/needs maxAgeMs, maxCount or both/);
  });

  it('retries a failed job with the arguments its result kept, and says why not when none were kept', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    const kept = await tasq.enqueue(fail, 'kept');
    await work(tasq, 'default', { saveArgs: true });
    expect(await admin.job(kept.id)).toMatchObject({ state: 'failed', error: { message: 'kept' } });
    expect(await admin.retry(kept.id)).toEqual({ id: kept.id, from: 'result' });
    // The failure retried is gone: a waiter gets the new run's outcome.
    expect(await runtimeServicesOf(tasq).results.get(kept.id)).toBeUndefined();
    expect(await admin.job(kept.id, { args: true })).toMatchObject({ state: 'queued', args: ['kept'] });
    await work(tasq);
    const lost = await tasq.enqueue(fail, 'lost');
    await work(tasq);
    await expect(admin.retry(lost.id)).rejects.toThrow(/its arguments were not kept/);
    const queued = await tasq.enqueue(add, 1, 1);
    await expect(admin.retry(queued.id)).rejects.toBeInstanceOf(JobStateError);
  });

  it('pauses and resumes a queue, shown in its status; keeps progress; deletes a group’s results', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    await admin.pause('mail');
    expect(await admin.pausedQueues()).toEqual(['mail']);
    expect(await admin.queueStatus('mail')).toEqual({
      queue: 'mail',
      ready: 0,
      delayed: 0,
      reserved: 0,
      dead: 0,
      paused: true,
    });
    await admin.resume('mail');
    expect((await admin.queueStatus('mail')).paused).toBe(false);

    const job = await tasq.enqueue(add, 1, 1);
    await admin.reportProgress(job.id, { done: 1, of: 4 });
    expect((await admin.job(job.id)).progress?.value).toEqual({ done: 1, of: 4 });
    await expect(admin.reportProgress(job.id, { text: 'x'.repeat(2_000) })).rejects.toThrow(
      /at most 1024 bytes/,
    );
    await expect(admin.reportProgress(job.id, Number.NaN)).rejects.toThrow(/finite number/);

    const group = await tasq.group([add.s(1, 2), add.s(3, 4)]).enqueue();
    await work(tasq);
    expect((await group.results()).map((result) => result.result)).toEqual([3, 7]);
    expect(await admin.deleteGroupResults(group.group)).toBe(2);
    expect(await runtimeServicesOf(tasq).results.group(group.group)).toEqual([]);
  });

  it('sets expiresAt from the expires option and a task default, and brokers without administration refuse clearly', async () => {
    const tasq = await client();
    const admin = Administration.of(tasq);
    const before = Date.now();
    const job = await tasq.enqueueWith(add, [1, 1], { expires: '10m' });
    const view = await admin.job(job.id);
    expect(view.expiresAt).toBeGreaterThanOrEqual(before + 600_000);
    expect(view.expiresAt).toBeLessThanOrEqual(Date.now() + 600_000);
    const dated = await tasq.enqueueWith(add, [1, 1], { expires: new Date('2030-01-01T00:00:00Z') });
    expect((await admin.job(dated.id)).expiresAt).toBe(Date.parse('2030-01-01T00:00:00Z'));
    const expiring = defineTask('admin.expiring', { expires: 30 }, () => 1);
    const defaulted = await tasq.enqueue(expiring);
    expect((await admin.job(defaulted.id)).expiresAt).toBeGreaterThanOrEqual(before + 30_000);

    // The same client over a broker that declares no administration.
    const bare = new Administration({
      broker: {
        ...runtimeServicesOf(tasq).broker.broker,
        name: 'custom',
        administration: undefined,
        size: (queue: string) => runtimeServicesOf(tasq).broker.broker.size(queue),
      } as never,
      results: runtimeServicesOf(tasq).results,
      codec: runtimeServicesOf(tasq).codec,
      clock: runtimeServicesOf(tasq).clock,
      defaultQueue: 'default',
      send: (packages) => runtimeServicesOf(tasq).send(packages),
    });
    await expect(bare.jobs()).rejects.toBeInstanceOf(UnsupportedOperationError);
    await expect(bare.jobs()).rejects.toThrow(/the custom broker cannot list waiting and running jobs/);
    expect(await bare.job(job.id)).toMatchObject({ state: 'unknown' });
    // Pause flags and cancel marks go to the result backend, which keeps them for such a broker.
    expect(bare.support().marksKeptBy).toBe('results');
    await bare.pause('default');
    expect((await bare.queueStatus('default')).paused).toBe(true);
    expect(await bare.cancel(job.id)).toEqual({ id: job.id, outcome: 'marked' });
    expect((await bare.cancelMarks([job.id])).map((mark) => mark.jobId)).toEqual([job.id]);
    await bare.resume('default');

    // ... and where the result backend keeps none either, each refuses, saying why.
    const nowhere = new Administration({
      broker: {
        ...runtimeServicesOf(tasq).broker.broker,
        name: 'custom',
        administration: undefined,
      } as never,
      results: Object.create(runtimeServicesOf(tasq).results, { administration: { value: undefined } }),
      codec: runtimeServicesOf(tasq).codec,
      clock: runtimeServicesOf(tasq).clock,
      defaultQueue: 'default',
      send: (packages) => runtimeServicesOf(tasq).send(packages),
    });
    expect(nowhere.support().marksKeptBy).toBe('none');
    await expect(nowhere.pause('default')).rejects.toThrow(
      /does not declare the "pause" administration capability/,
    );
    await expect(nowhere.cancel(job.id)).rejects.toBeInstanceOf(UnknownJobError);
  });
});
