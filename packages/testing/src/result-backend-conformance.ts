/**
 * The result backend contract, executable:
 *
 *   resultBackendConformance('my-backend', (namespace) => new MyBackend({ prefix: namespace }));
 *
 * The factory receives a namespace: calls with the same namespace must share one store, calls with a new
 * namespace must start empty (a key prefix, a schema, a table prefix...). Each test uses a new namespace.
 * Its second argument carries deployment settings a backend must honour: `deployment` is the
 * configuration's `name` (the plugin context's `deployment`): backends of one namespace but different
 * deployments must not see each other's outcomes or claims; `resultTtlSeconds` is the configuration's
 * `cached` (the plugin context's `resultTtlSeconds`), passed as the backend's own option.
 */
import {
  DEFAULT_DEPLOYMENT,
  type ResultAdministration,
  type ResultBackend,
  type TaskResult,
} from '@tasq/core/backend';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import type { ConformanceOptions } from './broker-conformance.js';
import { sleep, uniqueName } from './support.js';

let sequence = 0;
/** Ids that sort in creation order, like the time-sortable job ids core makes. */
function nextId(): string {
  sequence += 1;
  return `${Date.now().toString(36).padStart(10, '0')}-${String(sequence).padStart(8, '0')}`;
}

function result(overrides: Partial<TaskResult> = {}): TaskResult {
  const now = Date.now();
  return {
    id: nextId(),
    name: 'conformance.task',
    queue: 'default',
    status: 'success',
    result: 42,
    attempts: 1,
    enqueuedAt: now - 30,
    startedAt: now - 20,
    stoppedAt: now - 10,
    ...overrides,
  };
}

/** The backend's administration when it declares `marks`; otherwise the test is skipped, saying why. */
function declaresMarks(backend: ResultBackend, context: TestContext): ResultAdministration {
  const admin = backend.administration;
  if (admin?.capabilities.marks !== true) {
    context.skip(`the ${backend.name} result backend does not declare the "marks" administration capability`);
  }
  return admin!;
}

/** What the conformance suite asks of a backend beyond its namespace. */
export interface ResultBackendSettings {
  /** The deployment name (configuration `name`): "default" except in the case that checks deployments stay apart. */
  deployment: string;
  /** Seconds each outcome is kept after it is saved; undefined = until pruned. */
  resultTtlSeconds?: number;
}

export function resultBackendConformance(
  name: string,
  factory: (namespace: string, settings: ResultBackendSettings) => ResultBackend | Promise<ResultBackend>,
  options: ConformanceOptions = {},
): void {
  const title = `${name}: result backend conformance`;
  describe.skipIf(options.skipReason !== undefined)(
    options.skipReason ? `${title}: skipped: ${options.skipReason}` : title,
    () => {
      const opened: ResultBackend[] = [];
      let namespace = '';
      async function open(settings: Partial<ResultBackendSettings> = {}): Promise<ResultBackend> {
        if (!namespace) namespace = uniqueName('results');
        const backend = await factory(namespace, { deployment: DEFAULT_DEPLOYMENT, ...settings });
        opened.push(backend);
        return backend;
      }
      afterEach(async () => {
        namespace = '';
        for (const backend of opened.splice(0)) await backend.close();
      });

      it('saves and gets a success, keeping rich values intact', async () => {
        const backend = await open();
        const value = {
          when: new Date('2030-05-06T07:08:09.010Z'),
          big: 12345678901234567890n,
          tags: new Set(['a', 'b']),
          byKey: new Map<string, number>([['x', 1]]),
          bytes: new Uint8Array([0, 255, 7]),
          nested: [1, 'two', null, { deep: true }],
        };
        const saved = result({ result: value, args: [1, 'x', new Date(0)], group: 'g1', groupIndex: 0 });
        await backend.save(saved);
        const got = await backend.get(saved.id);
        expect(got).toEqual(saved);
        expect(got?.result).toEqual(value);
        expect(await backend.get('no-such-id')).toBeUndefined();
      });

      it('saves a failure with the error name, message and stack', async () => {
        const backend = await open();
        const failure = result({
          status: 'failure',
          result: undefined,
          error: { name: 'TypeError', message: 'x is not a function', stack: 'TypeError: x\n    at y' },
          attempts: 3,
        });
        await backend.save(failure);
        const got = await backend.get(failure.id);
        expect(got?.status).toBe('failure');
        expect(got?.error).toEqual(failure.error);
        expect(got?.attempts).toBe(3);
      });

      it('a second save of the same id replaces the first', async () => {
        const backend = await open();
        const first = result({
          status: 'failure',
          error: { name: 'Error', message: 'boom' },
          result: undefined,
        });
        await backend.save(first);
        const second = { ...first, status: 'success' as const, error: undefined, result: 'ok', attempts: 2 };
        await backend.save(second);
        const got = await backend.get(first.id);
        expect(got?.status).toBe('success');
        expect(got?.result).toBe('ok');
        expect(got?.attempts).toBe(2);
        expect(got?.error).toBeUndefined();
        expect(await backend.list({ limit: 10 })).toHaveLength(1);
      });

      it('a later failure does not replace a stored success of the same id; a later success replaces a failure', async () => {
        const backend = await open();
        const other = await open();
        const success = result({ result: 'done', attempts: 1, group: uniqueName('group'), groupIndex: 0 });
        await backend.save(success);
        // The job ran again (its ack was lost) and failed this time: the success stands.
        const failure = {
          ...success,
          status: 'failure' as const,
          result: undefined,
          error: { name: 'Error', message: 'second run failed' },
          attempts: 2,
        };
        await backend.save(failure);
        await other.save(failure);
        expect(await backend.get(success.id)).toEqual(success);
        expect(await other.wait(success.id, 1000)).toEqual(success);
        expect(await backend.group(success.group!)).toEqual([success]);
        expect((await backend.list({ status: 'failure', limit: 10 })).map((r) => r.id)).toEqual([]);
        expect((await backend.list({ status: 'success', limit: 10 })).map((r) => r.id)).toEqual([success.id]);
        // Saved together (one batch where the backend batches), the success still stands.
        const both = result({ result: 'first' });
        await Promise.all([
          backend.save(both),
          backend.save({
            ...both,
            status: 'failure',
            result: undefined,
            error: { name: 'Error', message: 'x' },
          }),
        ]);
        expect(await backend.get(both.id)).toEqual(both);
        // A retry that succeeds after a failure replaces it.
        const failed = result({
          status: 'failure',
          result: undefined,
          error: { name: 'Error', message: 'boom' },
        });
        await backend.save(failed);
        const retried = {
          ...failed,
          status: 'success' as const,
          error: undefined,
          result: 'ok',
          attempts: 2,
        };
        await backend.save(retried);
        expect(await backend.get(failed.id)).toEqual(retried);
      });

      it("keeps deployments apart: backends of different deployment names never see each other's outcomes or claims", async () => {
        const deployments = [DEFAULT_DEPLOYMENT, uniqueName('alpha'), uniqueName('beta')];
        const backends = await Promise.all(deployments.map((deployment) => open({ deployment })));
        const separated = "the deployment name must be part of the result backend's namespace";
        // One job id, one group, one task name and one claim key in every deployment.
        const id = nextId();
        const group = uniqueName('group');
        const key = uniqueName('claim');
        for (const [index, backend] of backends.entries()) {
          await backend.save(result({ id, group, groupIndex: 0, result: deployments[index] }));
          for (let extra = 0; extra < index; extra++)
            await backend.save(result({ result: `extra-${extra}` }));
        }
        for (const [index, backend] of backends.entries()) {
          expect((await backend.get(id))?.result, separated).toBe(deployments[index]);
          expect((await backend.wait(id, 1000))?.result, separated).toBe(deployments[index]);
          expect(
            (await backend.group(group)).map((r) => r.result),
            separated,
          ).toEqual([deployments[index]]);
          expect(await backend.list({ limit: 100 }), separated).toHaveLength(index + 1);
          expect(await backend.claimOnce(key), separated).toBe(true);
        }
        // Pruning one deployment leaves the others' outcomes alone.
        expect(await backends[2]!.prune({ saveLimit: -1 }), separated).toBe(3);
        expect(await backends[1]!.list({ limit: 100 }), separated).toHaveLength(2);
        expect((await backends[0]!.get(id))?.result, separated).toBe(DEFAULT_DEPLOYMENT);
      });

      it('wait resolves at once when the result is already stored', async () => {
        const backend = await open();
        const saved = result();
        await backend.save(saved);
        expect(await backend.wait(saved.id, 5000)).toEqual(saved);
        // The timeout bounds waiting for a save, not the first look: however slow the store, a stored
        // result is returned.
        expect(await backend.wait(saved.id, 0)).toEqual(saved);
      });

      it('wait wakes within tens of milliseconds of a save from another client, not after a poll interval', async () => {
        const waiter = await open();
        const writer = await open();
        const saved = result({ result: 'pushed' });
        const waiting = waiter.wait(saved.id, 10_000);
        await sleep(300);
        await writer.save(saved);
        const savedAt = Date.now();
        const got = await waiting;
        const wokeAfterMs = Date.now() - savedAt;
        expect(got?.result).toBe('pushed');
        // A poll interval of a second or more would fail here; a push arrives in a few milliseconds.
        expect(wokeAfterMs).toBeLessThan(300);
      });

      it('wait resolves undefined after its timeout, and at once when aborted', async () => {
        const backend = await open();
        const started = Date.now();
        expect(await backend.wait('never-saved', 300)).toBeUndefined();
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        const controller = new AbortController();
        const waiting = backend.wait('never-saved-2', 20_000, controller.signal);
        await sleep(50);
        controller.abort();
        expect(await waiting).toBeUndefined();
      });

      it('group returns every member of a group in groupIndex order, and only those', async () => {
        const backend = await open();
        const group = uniqueName('group');
        const members = [2, 0, 1].map((index) => result({ group, groupIndex: index, result: index * 10 }));
        for (const member of members) await backend.save(member);
        await backend.save(result({ group: uniqueName('other'), groupIndex: 0 }));
        await backend.save(result());
        const got = await backend.group(group);
        expect(got.map((r) => r.groupIndex)).toEqual([0, 1, 2]);
        expect(got.map((r) => r.result)).toEqual([0, 10, 20]);
        expect(await backend.group('empty-group')).toEqual([]);
      });

      it('lists newest first, filtered by status and name, paged with before', async () => {
        const backend = await open();
        const saved: TaskResult[] = [];
        for (let i = 0; i < 5; i++) saved.push(result({ name: i % 2 ? 'odd.task' : 'even.task', result: i }));
        for (let i = 0; i < 3; i++) {
          saved.push(
            result({ status: 'failure', result: undefined, error: { name: 'Error', message: `f${i}` } }),
          );
        }
        for (const r of saved) await backend.save(r);
        const successes = saved.filter((r) => r.status === 'success').reverse();
        const page1 = await backend.list({ status: 'success', limit: 2 });
        expect(page1.map((r) => r.id)).toEqual(successes.slice(0, 2).map((r) => r.id));
        const page2 = await backend.list({ status: 'success', limit: 2, before: page1[1]!.id });
        expect(page2.map((r) => r.id)).toEqual(successes.slice(2, 4).map((r) => r.id));
        const failures = await backend.list({ status: 'failure', limit: 10 });
        expect(failures).toHaveLength(3);
        expect(failures.every((r) => r.status === 'failure')).toBe(true);
        const odd = await backend.list({ name: 'odd.task', limit: 10 });
        expect(odd.map((r) => r.result)).toEqual([3, 1]);
        expect(await backend.list({ limit: 100 })).toHaveLength(8);
      });

      it('prune keeps the newest successes up to the save limit and never deletes failures', async () => {
        const backend = await open();
        const successes: TaskResult[] = [];
        for (let i = 0; i < 6; i++) successes.push(result({ name: i < 4 ? 'a.task' : 'b.task' }));
        const failures = [0, 1].map(() =>
          result({ status: 'failure', result: undefined, error: { name: 'Error', message: 'x' } }),
        );
        for (const r of [...successes, ...failures]) await backend.save(r);
        expect(await backend.prune({ saveLimit: 0 })).toBe(0);
        expect(await backend.prune({ saveLimit: 4 })).toBe(2);
        const kept = await backend.list({ status: 'success', limit: 100 });
        expect(kept.map((r) => r.id)).toEqual(
          successes
            .slice(2)
            .reverse()
            .map((r) => r.id),
        );
        expect(await backend.list({ status: 'failure', limit: 100 })).toHaveLength(2);
        // Per name: a.task keeps 1 of its 2 remaining, b.task keeps 1 of its 2.
        expect(await backend.prune({ saveLimit: 1, per: 'name' })).toBe(2);
        const perName = await backend.list({ status: 'success', limit: 100 });
        expect(perName.map((r) => r.id).sort()).toEqual([successes[3]!.id, successes[5]!.id].sort());
        expect(await backend.prune({ saveLimit: -1 })).toBe(2);
        expect(await backend.list({ status: 'success', limit: 100 })).toEqual([]);
        expect(await backend.list({ status: 'failure', limit: 100 })).toHaveLength(2);
      });

      it('prune per group keeps the newest successes of each group, the ungrouped ones counting as one more group', async () => {
        const backend = await open();
        const g1 = [0, 1, 2].map((i) => result({ group: 'g1', groupIndex: i }));
        const ungrouped = [0, 1, 2, 3].map(() => result());
        const g2 = [0, 1].map((i) => result({ group: 'g2', groupIndex: i }));
        const failure = result({
          status: 'failure',
          result: undefined,
          error: { name: 'Error', message: 'x' },
        });
        for (const r of [g1[0]!, ungrouped[0]!, g2[0]!, g1[1]!, ungrouped[1]!, ungrouped[2]!, g1[2]!]) {
          await backend.save(r);
        }
        for (const r of [g2[1]!, ungrouped[3]!, failure]) await backend.save(r);
        // g1 keeps its newest 2 of 3, g2 both, the ungrouped successes their newest 2 of 4.
        expect(await backend.prune({ saveLimit: 2, per: 'group' })).toBe(3);
        expect((await backend.group('g1')).map((r) => r.id)).toEqual([g1[1]!.id, g1[2]!.id]);
        expect((await backend.group('g2')).map((r) => r.id)).toEqual([g2[0]!.id, g2[1]!.id]);
        const successIds = (await backend.list({ status: 'success', limit: 100 })).map((r) => r.id);
        expect(successIds.filter((id) => ungrouped.some((r) => r.id === id))).toEqual([
          ungrouped[3]!.id,
          ungrouped[2]!.id,
        ]);
        expect(await backend.prune({ saveLimit: 1, per: 'group' })).toBe(3);
        expect((await backend.group('g1')).map((r) => r.id)).toEqual([g1[2]!.id]);
        expect((await backend.group('g2')).map((r) => r.id)).toEqual([g2[1]!.id]);
        expect((await backend.list({ status: 'success', limit: 100 })).map((r) => r.id).sort()).toEqual(
          [g1[2]!.id, g2[1]!.id, ungrouped[3]!.id].sort(),
        );
        expect(await backend.get(failure.id)).toEqual(failure);
      });

      it('prune keeps a success held by an unclaimed keepUntilClaimed key, without counting it, until the key is claimed', async () => {
        const backend = await open();
        const key = uniqueName('chord');
        const group = uniqueName('group');
        // In id order: held0, plain0, held1, plain1, plain2 (held members older and newer than plain ones).
        const held0 = result({ group, groupIndex: 0, keepUntilClaimed: key });
        const plain0 = result();
        const held1 = result({ group, groupIndex: 1, keepUntilClaimed: key });
        const plain1 = result();
        const plain2 = result();
        for (const r of [held0, plain0, held1, plain1, plain2]) await backend.save(r);
        expect(await backend.get(held0.id)).toEqual(held0);
        const successIds = async () =>
          (await backend.list({ status: 'success', limit: 100 })).map((r) => r.id);

        // The newest success that is not held is kept; the held ones neither go nor count.
        expect(await backend.prune({ saveLimit: 1 })).toBe(2);
        expect(await successIds()).toEqual([plain2.id, held1.id, held0.id]);
        expect(await backend.prune({ saveLimit: 1, per: 'name' })).toBe(0);
        expect(await backend.prune({ saveLimit: 1, per: 'group' })).toBe(0);
        expect((await backend.group(group)).map((r) => r.id)).toEqual([held0.id, held1.id]);
        expect(await backend.prune({ saveLimit: -1 })).toBe(1);
        expect(await successIds()).toEqual([held1.id, held0.id]);

        // Once the key is claimed they are successes like any other.
        expect(await backend.claimOnce(key)).toBe(true);
        expect(await backend.prune({ saveLimit: 1 })).toBe(1);
        expect(await successIds()).toEqual([held1.id]);
        expect(await backend.prune({ saveLimit: -1 })).toBe(1);
        expect(await successIds()).toEqual([]);
      });

      it('claimOnce grants each key to exactly one of many concurrent callers', async () => {
        const backends = [await open(), await open(), await open()];
        const key = uniqueName('chord');
        const claims = await Promise.all(
          Array.from({ length: 12 }, (_, i) => backends[i % backends.length]!.claimOnce(key)),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        expect(await backends[0]!.claimOnce(key)).toBe(false);
        expect(await backends[1]!.claimOnce(uniqueName('other'))).toBe(true);
      });

      it('claimOnce with a ttl can be claimed again once the ttl has passed', async () => {
        const backend = await open();
        const key = uniqueName('slot');
        expect(await backend.claimOnce(key, 1000)).toBe(true);
        expect(await backend.claimOnce(key, 1000)).toBe(false);
        await sleep(1600);
        expect(await backend.claimOnce(key, 1000)).toBe(true);
      });

      it('releaseClaim gives a claim back for the next claimOnce, seen by every client', async () => {
        const [first, second] = [await open(), await open()];
        const key = uniqueName('enqueue');
        expect(await first.claimOnce(key)).toBe(true);
        await first.releaseClaim(key);
        expect(await second.claimOnce(key)).toBe(true);
        expect(await first.claimOnce(key)).toBe(false);
        // Giving back a key nobody holds changes nothing.
        const untouched = uniqueName('never-claimed');
        await second.releaseClaim(untouched);
        expect(await first.claimOnce(untouched)).toBe(true);
      });

      it('drops every outcome, success or failure, once its time to live (`cached`) has passed', async () => {
        const backend = await open({ resultTtlSeconds: 1 });
        const success = result({ group: 'kept-briefly', groupIndex: 0 });
        const failure = result({
          status: 'failure',
          error: { name: 'Error', message: 'boom' },
          group: 'kept-briefly',
          groupIndex: 1,
        });
        await backend.save(success);
        await backend.save(failure);
        expect(await backend.get(success.id)).toEqual(success);
        expect((await backend.group('kept-briefly')).map((r) => r.id)).toEqual([success.id, failure.id]);
        await sleep(1_500);
        expect(await backend.get(success.id)).toBeUndefined();
        expect(await backend.get(failure.id)).toBeUndefined();
        expect(await backend.wait(failure.id, 100)).toBeUndefined();
        expect(await backend.group('kept-briefly')).toEqual([]);
        expect(await backend.list({ limit: 10 })).toEqual([]);
        // A save after that is kept again for the full time.
        const later = result();
        await backend.save(later);
        expect(await backend.get(later.id)).toEqual(later);
      });

      it('keeps a success held by an unclaimed keepUntilClaimed key past its time to live, until the key is claimed', async () => {
        const backend = await open({ resultTtlSeconds: 1 });
        const key = uniqueName('chord');
        const group = uniqueName('group');
        const held = result({ group, groupIndex: 0, keepUntilClaimed: key });
        const plain = result({ group, groupIndex: 1 });
        await backend.save(held);
        await backend.save(plain);
        await sleep(1_500);
        // A chord that takes longer than `cached` still finds its members.
        expect(await backend.get(plain.id)).toBeUndefined();
        expect(await backend.get(held.id)).toEqual(held);
        expect(await backend.wait(held.id, 100)).toEqual(held);
        expect(await backend.group(group)).toEqual([held]);
        expect((await backend.list({ limit: 10 })).map((r) => r.id)).toEqual([held.id]);
        // Neither pruning (which may count the expired one it reclaims) nor expiry takes it.
        await backend.prune({ saveLimit: -1 });
        expect(await backend.get(held.id)).toEqual(held);

        // Claimed: its time to live applies again (counted from the save or from the claim).
        expect(await backend.claimOnce(key)).toBe(true);
        await sleep(1_500);
        expect(await backend.get(held.id)).toBeUndefined();
        expect(await backend.group(group)).toEqual([]);
        expect(await backend.list({ limit: 10 })).toEqual([]);
      });

      it('admin delete: drops outcomes by id and a whole group in one call, nothing else', async (context) => {
        const backend = await open();
        const admin = backend.administration;
        if (admin?.capabilities.delete !== true) {
          context.skip(
            `the ${backend.name} result backend does not declare the "delete" administration capability`,
          );
        }
        const group = uniqueName('group');
        const members = [0, 1, 2].map((groupIndex) => result({ group, groupIndex }));
        const loose = [result(), result({ status: 'failure', error: { name: 'Error', message: 'x' } })];
        for (const saved of [...members, ...loose]) await backend.save(saved);
        expect(await admin!.deleteGroup!(group)).toBe(3);
        expect(await backend.group(group)).toEqual([]);
        expect(await admin!.deleteGroup!(group)).toBe(0);
        expect(await admin!.delete!([loose[0]!.id, 'no-such-id'])).toBe(1);
        expect(await backend.get(loose[0]!.id)).toBeUndefined();
        expect(await backend.get(loose[1]!.id)).toMatchObject({ id: loose[1]!.id, status: 'failure' });
      });

      it('admin progress: keeps the latest progress of a job, a number or a small object', async (context) => {
        const backend = await open();
        const admin = backend.administration;
        if (admin?.capabilities.progress !== true) {
          context.skip(
            `the ${backend.name} result backend does not declare the "progress" administration capability`,
          );
        }
        const id = nextId();
        expect(await admin!.progress!(id)).toBeUndefined();
        await admin!.saveProgress!(id, { value: 0.25, at: 1_000 });
        await admin!.saveProgress!(id, { value: { done: 3, of: 10, step: 'copying' }, at: 2_000 });
        const other = await open();
        expect(await other.administration!.progress!(id)).toEqual({
          value: { done: 3, of: 10, step: 'copying' },
          at: 2_000,
        });
        await admin!.saveProgress!(id, { value: 1, at: 3_000 });
        expect(await admin!.progress!(id)).toEqual({ value: 1, at: 3_000 });
      });

      it('admin marks: pause flags are persisted and seen by every client, and kept apart per deployment', async (context) => {
        const backend = await open();
        const admin = declaresMarks(backend, context);
        const other = (await open()).administration!;
        const elsewhere = (await open({ deployment: uniqueName('deployment') })).administration!;
        const queue = uniqueName('paused');
        expect(await other.pausedQueues!()).not.toContain(queue);
        await admin.setPaused!(queue, true);
        await admin.setPaused!(queue, true);
        expect(await other.pausedQueues!()).toContain(queue);
        expect(await elsewhere.pausedQueues!()).not.toContain(queue);
        await other.setPaused!(queue, false);
        await other.setPaused!(queue, false);
        expect(await admin.pausedQueues!()).not.toContain(queue);
      });

      it('admin marks: cancel marks are persisted, seen by every client, the first reason kept, cleared on demand', async (context) => {
        const backend = await open();
        const admin = declaresMarks(backend, context);
        const other = (await open()).administration!;
        const [marked, unmarked] = [nextId(), nextId()];
        const before = Date.now();
        await admin.markCancelled!(marked, 'first reason');
        await other.markCancelled!(marked, 'second reason');
        const marks = await other.cancelMarks!([marked, unmarked, marked]);
        expect(marks).toHaveLength(1);
        expect(marks[0]).toMatchObject({ jobId: marked, reason: 'first reason' });
        expect(marks[0]!.at).toBeGreaterThanOrEqual(before - 1000);
        expect(marks[0]!.at).toBeLessThanOrEqual(Date.now() + 1000);
        expect(await admin.cancelMarks!([])).toEqual([]);
        expect(await other.clearCancelMarks!([marked, unmarked])).toBe(1);
        expect(await admin.cancelMarks!([marked])).toEqual([]);
        expect(await admin.clearCancelMarks!([marked])).toBe(0);
      });

      it('admin progress: a pruned or deleted outcome takes its progress with it', async (context) => {
        const backend = await open();
        const admin = backend.administration;
        if (admin?.capabilities.progress !== true || admin.capabilities.delete !== true) {
          context.skip(
            `the ${backend.name} result backend does not declare the "progress" and "delete" administration capabilities`,
          );
        }
        const older = result();
        const newer = result();
        const failed = result({
          status: 'failure',
          result: undefined,
          error: { name: 'Error', message: 'x' },
        });
        const running = nextId();
        for (const saved of [older, newer, failed]) {
          await backend.save(saved);
          await admin!.saveProgress!(saved.id, { value: 1, at: 1_000 });
        }
        await admin!.saveProgress!(running, { value: 0.5, at: 1_000 });
        expect(await backend.prune({ saveLimit: 1 })).toBe(1);
        expect(await admin!.progress!(older.id)).toBeUndefined();
        expect(await admin!.progress!(newer.id)).toEqual({ value: 1, at: 1_000 });
        expect(await admin!.progress!(failed.id)).toEqual({ value: 1, at: 1_000 });
        // A job still running has no outcome to prune: its progress stays.
        expect(await admin!.progress!(running)).toEqual({ value: 0.5, at: 1_000 });
        expect(await admin!.delete!([newer.id])).toBe(1);
        expect(await admin!.progress!(newer.id)).toBeUndefined();
      });

      it('close is idempotent and releases a pending wait', async () => {
        const backend = await open();
        const waiting = backend.wait('pending-forever', 20_000);
        await sleep(100);
        await backend.close();
        await backend.close();
        expect(await waiting).toBeUndefined();
      });
    },
  );
}
