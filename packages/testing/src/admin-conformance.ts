/**
 * The broker administration capability, executable: the cases every broker runs as part of
 * `brokerConformance`, each gated by the flag it needs in `broker.administration.capabilities`. A broker that
 * declares no `administration` (or a flag as false) has those cases reported as skipped, never failed, so a broker
 * gains administration one capability at a time.
 */
import {
  type Broker,
  type BrokerAdministration,
  type BrokerAdministrationCapabilities,
  type PackageLabel,
  type StoredPackage,
  uuidv7,
} from '@tasq/core/backend';
import { expect, it, type TestContext } from 'vitest';
import { readText, reserveUntil, sleep, text, uniqueName } from './support.js';

/** What the cases need from the suite around them. */
export interface AdministrationCaseHooks {
  /** A broker instance of the default deployment (closed after the test). */
  open(): Promise<Broker>;
  /** Register a queue for cleanup (purged, its dead letters purged, its pause flag cleared). */
  newQueue(broker: Broker, prefix?: string): string;
}

/** A label for a fresh job of `task`. */
export function newLabel(task = 'conformance.task', expiresAt?: number): PackageLabel {
  return expiresAt === undefined ? { jobId: uuidv7(), task } : { jobId: uuidv7(), task, expiresAt };
}

/** The broker's administration when it declares `flag`; otherwise the test is skipped, saying why. */
function declared(
  broker: Broker,
  flag: keyof BrokerAdministrationCapabilities,
  context: TestContext,
): BrokerAdministration {
  const admin = broker.administration;
  if (admin?.capabilities[flag] !== true) {
    context.skip(`the ${broker.name} broker does not declare the "${flag}" administration capability`);
  }
  return admin!;
}

/** Enqueue one labelled body per label; returns the labels. */
async function enqueueLabelled(
  broker: Broker,
  queue: string,
  labels: PackageLabel[],
  options: { delayMs?: number } = {},
): Promise<PackageLabel[]> {
  await broker.enqueue(
    queue,
    labels.map((label) => text(`body-${label.jobId}`)),
    { ...options, labels },
  );
  return labels;
}

/** Dead-letter every package of `queue` (reserved first), one reason each. */
async function deadLetterAll(
  broker: Broker,
  queue: string,
  count: number,
  reason = 'failed for good',
): Promise<void> {
  const deliveries = await reserveUntil(broker, queue, count);
  expect(deliveries).toHaveLength(count);
  for (const delivery of deliveries) await broker.deadLetter(delivery, reason);
}

/** Every job id of a paged listing, page by page. */
async function collectPages(
  read: (cursor: string | undefined) => Promise<{ packages: StoredPackage[]; next?: string }>,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await read(cursor);
    pages++;
    ids.push(...page.packages.map((stored) => stored.jobId!));
    cursor = page.next;
    if (pages > 50) throw new Error('the listing never ended (the cursor does not advance)');
  } while (cursor !== undefined);
  return { ids, pages };
}

export function administrationCases(hooks: AdministrationCaseHooks): void {
  const setup = async (context: TestContext, flag: keyof BrokerAdministrationCapabilities) => {
    const broker = await hooks.open();
    const admin = declared(broker, flag, context);
    return { broker, admin, queue: hooks.newQueue(broker, 'admin') };
  };

  it('admin: declares every capability flag as a boolean, with the methods each flag promises', async () => {
    const broker = await hooks.open();
    const admin = broker.administration;
    if (admin === undefined) return;
    const methods: Record<keyof BrokerAdministrationCapabilities, (keyof BrokerAdministration)[]> = {
      lookup: ['find'],
      browse: ['list'],
      deadLetters: ['listDead', 'requeueDead', 'deleteDead', 'purgeDead', 'trimDead'],
      remove: ['remove'],
      pause: ['setPaused', 'pausedQueues'],
      cancelMarks: ['markCancelled', 'cancelMarks', 'clearCancelMarks'],
    };
    for (const [flag, needed] of Object.entries(methods) as [
      keyof BrokerAdministrationCapabilities,
      (keyof BrokerAdministration)[],
    ][]) {
      expect(typeof admin.capabilities[flag], `capabilities.${flag}`).toBe('boolean');
      if (admin.capabilities[flag]) {
        for (const method of needed)
          expect(typeof admin[method], `${flag} promises ${method}`).toBe('function');
      }
    }
  });

  it('admin lookup: finds a job by id through its lifecycle: ready, reserved, delayed, dead, gone', async (context) => {
    const { broker, admin, queue } = await setup(context, 'lookup');
    const [label] = await enqueueLabelled(broker, queue, [newLabel('lookup.task', Date.now() + 3_600_000)]);
    const ready = await admin.find!(label!.jobId);
    expect(ready).toMatchObject({
      jobId: label!.jobId,
      task: 'lookup.task',
      queue,
      state: 'ready',
      deliveries: 0,
    });
    expect(ready!.expiresAt).toBe(label!.expiresAt);
    expect(readText(ready!.body)).toBe(`body-${label!.jobId}`);

    const [delivery] = await reserveUntil(broker, queue, 1);
    expect(await admin.find!(label!.jobId)).toMatchObject({ state: 'reserved', deliveries: 1 });

    await broker.release(delivery!, { delayMs: 60_000 });
    const delayed = await admin.find!(label!.jobId);
    expect(delayed).toMatchObject({ state: 'delayed', deliveries: 1 });
    expect(delayed!.visibleAt).toBeGreaterThan(Date.now() + 30_000);

    await broker.purge(queue);
    const [again] = await enqueueLabelled(broker, queue, [newLabel('lookup.task')]);
    const [second] = await reserveUntil(broker, queue, 1);
    await broker.deadLetter(second!, 'boom: gave up');
    expect(await admin.find!(again!.jobId)).toMatchObject({ state: 'dead', deadReason: 'boom: gave up' });

    const [third] = await enqueueLabelled(broker, queue, [newLabel('lookup.task')]);
    const [acked] = await reserveUntil(broker, queue, 1);
    await broker.ack(acked!);
    expect(await admin.find!(third!.jobId)).toBeUndefined();
    expect(await admin.find!(uuidv7())).toBeUndefined();
  });

  it('admin browse: lists newest first, a page at a time, each job once, by state and by task', async (context) => {
    const { broker, admin, queue } = await setup(context, 'browse');
    const labels: PackageLabel[] = [];
    for (let index = 0; index < 7; index++) {
      // One enqueue per job, so the store order is the order of the labels.
      labels.push(
        ...(await enqueueLabelled(broker, queue, [newLabel(index % 2 === 0 ? 'even.task' : 'odd.task')])),
      );
    }
    const newestFirst = labels.map((label) => label.jobId).reverse();
    const { ids, pages } = await collectPages((cursor) =>
      admin.list!({ queue, limit: 3, ...(cursor ? { cursor } : {}) }),
    );
    expect(ids).toEqual(newestFirst);
    expect(pages).toBe(3);

    const odd = await admin.list!({ queue, task: 'odd.task', limit: 10 });
    expect(odd.packages.map((stored) => stored.jobId)).toEqual(
      labels
        .filter((label) => label.task === 'odd.task')
        .map((label) => label.jobId)
        .reverse(),
    );
    expect(odd.next).toBeUndefined();

    const reserved = await reserveUntil(broker, queue, 2);
    const running = await admin.list!({ queue, states: ['reserved'], limit: 10 });
    expect(running.packages.map((stored) => stored.packageId).sort()).toEqual(
      reserved.map((delivery) => delivery.id).sort(),
    );
    expect(running.packages.every((stored) => stored.state === 'reserved')).toBe(true);
    const waiting = await admin.list!({ queue, states: ['ready'], limit: 10 });
    expect(waiting.packages).toHaveLength(5);
    expect(waiting.packages.every((stored) => stored.state === 'ready')).toBe(true);

    const [later] = await enqueueLabelled(broker, queue, [newLabel('even.task')], { delayMs: 60_000 });
    const delayed = await admin.list!({ queue, states: ['delayed'], limit: 10 });
    expect(delayed.packages.map((stored) => stored.jobId)).toEqual([later!.jobId]);
    expect((await admin.list!({ queue: uniqueName('empty'), limit: 10 })).packages).toEqual([]);
  });

  it('admin dead letters: listed newest death first with reason and time; deleted; purged by task', async (context) => {
    const { broker, admin, queue } = await setup(context, 'deadLetters');
    const labels = await enqueueLabelled(broker, queue, [
      newLabel('a.task'),
      newLabel('b.task'),
      newLabel('a.task'),
    ]);
    const before = Date.now();
    const deliveries = await reserveUntil(broker, queue, 3);
    const order: string[] = [];
    for (const delivery of deliveries) {
      await broker.deadLetter(delivery, `reason ${delivery.id}`);
      order.push(delivery.id);
      await sleep(5);
    }
    const page = await admin.listDead!({ queue, limit: 10 });
    expect(page.packages.map((stored) => stored.packageId)).toEqual(order.reverse());
    for (const stored of page.packages) {
      expect(stored.state).toBe('dead');
      expect(stored.deadReason).toBe(`reason ${stored.packageId}`);
      expect(stored.deadAt).toBeGreaterThanOrEqual(before - 1000);
    }
    const { ids } = await collectPages((cursor) =>
      admin.listDead!({ queue, limit: 1, ...(cursor ? { cursor } : {}) }),
    );
    expect(ids.sort()).toEqual(labels.map((label) => label.jobId).sort());

    const onlyA = await admin.listDead!({ queue, task: 'a.task', limit: 10 });
    expect(onlyA.packages).toHaveLength(2);

    const victim = page.packages[0]!;
    // The queue travels with the ids (a broker that keeps dead letters per queue needs it).
    expect(await admin.deleteDead!([victim.packageId], queue)).toEqual([victim.packageId]);
    expect(await admin.deleteDead!([victim.packageId], queue)).toEqual([]);
    expect(await admin.purgeDead!({ queue, task: 'b.task' })).toBe(victim.task === 'b.task' ? 0 : 1);
    const left = await admin.listDead!({ queue, limit: 10 });
    expect(left.packages.every((stored) => stored.task === 'a.task')).toBe(true);
    expect(await admin.purgeDead!({ queue })).toBe(left.packages.length);
    expect((await broker.size(queue)).dead ?? 0).toBe(0);
  });

  it('admin dead letters: a requeued dead letter is deliverable again with fresh attempts and its new body', async (context) => {
    const { broker, admin, queue } = await setup(context, 'deadLetters');
    await enqueueLabelled(broker, queue, [newLabel()]);
    const [first] = await reserveUntil(broker, queue, 1);
    await broker.release(first!);
    const [second] = await reserveUntil(broker, queue, 1);
    expect(second!.deliveries).toBe(2);
    await broker.deadLetter(second!, 'gave up');
    const [dead] = (await admin.listDead!({ queue, limit: 1 })).packages;
    expect(
      await admin.requeueDead!([{ packageId: dead!.packageId, queue, body: text('fresh body') }]),
    ).toEqual([dead!.packageId]);
    expect((await admin.listDead!({ queue, limit: 1 })).packages).toEqual([]);
    const [again] = await reserveUntil(broker, queue, 1);
    expect(again!.deliveries).toBe(1);
    expect(readText(again!.body)).toBe('fresh body');
    await broker.ack(again!);
    // Not dead any more (gone): nothing to requeue.
    expect(await admin.requeueDead!([{ packageId: dead!.packageId, queue }])).toEqual([]);
  });

  it('admin dead letters: two callers requeueing the same dead letter at once requeue it once', async (context) => {
    const { broker, admin, queue } = await setup(context, 'deadLetters');
    const other = (await hooks.open()).administration!;
    await enqueueLabelled(broker, queue, [newLabel(), newLabel(), newLabel()]);
    await deadLetterAll(broker, queue, 3);
    const dead = (await admin.listDead!({ queue, limit: 10 })).packages.map((stored) => ({
      packageId: stored.packageId,
    }));
    const [mine, theirs] = await Promise.all([admin.requeueDead!(dead), other.requeueDead!(dead)]);
    expect([...mine, ...theirs].sort()).toEqual(dead.map((request) => request.packageId).sort());
    expect((await broker.size(queue)).ready).toBe(3);
    expect(await reserveUntil(broker, queue, 4, { timeoutMs: 1500 })).toHaveLength(3);
  });

  it('admin dead letters: retention keeps the newest by count and drops those past the age', async (context) => {
    const { broker, admin, queue } = await setup(context, 'deadLetters');
    const old = await enqueueLabelled(broker, queue, [newLabel(), newLabel()]);
    await deadLetterAll(broker, queue, 2);
    const between = Date.now();
    await sleep(400);
    const recent = await enqueueLabelled(broker, queue, [newLabel(), newLabel(), newLabel()]);
    await deadLetterAll(broker, queue, 3);
    // Older than the gap: the first two only (the margin absorbs the time the call takes).
    expect(await admin.trimDead!(queue, { maxAgeMs: Date.now() - between - 200 })).toBe(2);
    const kept = (await admin.listDead!({ queue, limit: 10 })).packages.map((stored) => stored.jobId);
    expect(kept.sort()).toEqual(recent.map((label) => label.jobId).sort());
    expect(kept).not.toContain(old[0]!.jobId);
    expect(await admin.trimDead!(queue, { maxCount: 1 })).toBe(2);
    expect((await admin.listDead!({ queue, limit: 10 })).packages).toHaveLength(1);
    expect(await admin.trimDead!(queue, { maxCount: 1, maxAgeMs: 3_600_000 })).toBe(0);
  });

  it('admin remove: takes a queued or delayed job out by id, never a reserved one', async (context) => {
    const { broker, admin, queue } = await setup(context, 'remove');
    const [ready, held] = await enqueueLabelled(broker, queue, [newLabel(), newLabel()]);
    const [delayed] = await enqueueLabelled(broker, queue, [newLabel()], { delayMs: 60_000 });
    expect(await admin.remove!(ready!.jobId)).toBe(1);
    expect(await admin.remove!(delayed!.jobId)).toBe(1);
    expect(await admin.remove!(ready!.jobId)).toBe(0);
    const [delivery] = await reserveUntil(broker, queue, 1);
    expect(readText(delivery!.body)).toBe(`body-${held!.jobId}`);
    expect(await admin.remove!(held!.jobId)).toBe(0);
    await broker.ack(delivery!);
    expect(await broker.size(queue)).toMatchObject({ ready: 0 });
  });

  it('admin pause: the flag is persisted and seen by every instance; enqueues still succeed', async (context) => {
    const { broker, admin, queue } = await setup(context, 'pause');
    const other = (await hooks.open()).administration!;
    expect(await other.pausedQueues!()).not.toContain(queue);
    await admin.setPaused!(queue, true);
    await admin.setPaused!(queue, true);
    expect(await other.pausedQueues!()).toContain(queue);
    expect(await broker.enqueue(queue, [text('still accepted')])).toHaveLength(1);
    await other.setPaused!(queue, false);
    expect(await admin.pausedQueues!()).not.toContain(queue);
  });

  it('admin cancel marks: persisted, seen by every instance, the first reason kept, cleared on demand', async (context) => {
    const { broker, admin } = await setup(context, 'cancelMarks');
    void broker;
    const other = (await hooks.open()).administration!;
    const [marked, unmarked] = [uuidv7(), uuidv7()];
    const before = Date.now();
    await admin.markCancelled!(marked, 'first reason');
    await other.markCancelled!(marked, 'second reason');
    const marks = await other.cancelMarks!([marked, unmarked]);
    expect(marks).toHaveLength(1);
    expect(marks[0]).toMatchObject({ jobId: marked, reason: 'first reason' });
    expect(marks[0]!.at).toBeGreaterThanOrEqual(before - 1000);
    expect(await admin.cancelMarks!([])).toEqual([]);
    expect(await other.clearCancelMarks!([marked, unmarked])).toBe(1);
    expect(await admin.cancelMarks!([marked])).toEqual([]);
  });
}
