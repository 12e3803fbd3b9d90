/**
 * The schedule store contract, executable:
 *
 *   scheduleStoreConformance('my-store', (namespace, { deployment }) => new MyStore({ prefix: namespace, deployment }));
 *
 * Same namespace rule as the result backend suite: one namespace, one store; a new namespace starts empty.
 * The second argument names the deployment (configuration `name`): stores of one namespace but different
 * deployments must not see each other's schedules or leader locks.
 */
import { DEFAULT_DEPLOYMENT, type ScheduleRecord, type ScheduleStore } from '@tasq/core/backend';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConformanceOptions } from './broker-conformance.js';
import { sleep, uniqueName } from './support.js';

function schedule(overrides: Partial<ScheduleRecord> = {}): ScheduleRecord {
  const id = uniqueName('schedule');
  return {
    id,
    name: id,
    task: 'reports.build',
    args: ['weekly', new Date('2030-01-01T00:00:00.000Z')],
    options: { queue: 'reports', priority: 3 },
    kind: 'cron',
    cron: '*/5 * * * *',
    timeZone: 'Europe/Berlin',
    repeats: -1,
    nextRunAt: Date.UTC(2030, 0, 1, 12, 0),
    paused: false,
    createdAt: Date.UTC(2029, 11, 31),
    ...overrides,
  };
}

/** What the schedule store suite asks of a store beyond its namespace. */
export interface ScheduleStoreSettings {
  /** The deployment name (configuration `name`): "default" except in the case that checks deployments stay apart. */
  deployment: string;
}

export function scheduleStoreConformance(
  name: string,
  factory: (namespace: string, settings: ScheduleStoreSettings) => ScheduleStore | Promise<ScheduleStore>,
  options: ConformanceOptions = {},
): void {
  const title = `${name}: schedule store conformance`;
  describe.skipIf(options.skipReason !== undefined)(
    options.skipReason ? `${title}: skipped: ${options.skipReason}` : title,
    () => {
      const opened: ScheduleStore[] = [];
      let namespace = '';
      async function open(deployment = DEFAULT_DEPLOYMENT): Promise<ScheduleStore> {
        if (!namespace) namespace = uniqueName('schedules');
        const store = await factory(namespace, { deployment });
        opened.push(store);
        return store;
      }
      afterEach(async () => {
        namespace = '';
        for (const store of opened.splice(0)) await store.close();
      });

      it('saves, gets, lists and removes schedules, keeping their arguments intact', async () => {
        const store = await open();
        const a = schedule();
        const b = schedule({
          kind: 'minutes',
          minutes: 15,
          cron: undefined,
          lastRunAt: Date.UTC(2029, 11, 31, 23),
        });
        await store.save(a);
        await store.save(b);
        expect(await store.get(a.id)).toEqual(a);
        expect(await store.get(b.id)).toEqual(b);
        expect((await store.list()).map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
        await store.save({ ...a, paused: true });
        expect((await store.get(a.id))?.paused).toBe(true);
        expect(await store.remove(a.id)).toBe(true);
        expect(await store.remove(a.id)).toBe(false);
        expect(await store.get(a.id)).toBeUndefined();
      });

      it('due returns active schedules whose time has come, earliest first, up to the limit', async () => {
        const store = await open();
        const now = Date.UTC(2030, 0, 1, 12, 0);
        const early = schedule({ nextRunAt: now - 60_000 });
        const onTime = schedule({ nextRunAt: now });
        const future = schedule({ nextRunAt: now + 1 });
        const paused = schedule({ nextRunAt: now - 120_000, paused: true });
        const finished = schedule({ nextRunAt: now - 120_000, repeats: 0 });
        for (const s of [onTime, future, paused, finished, early]) await store.save(s);
        expect((await store.due(now, 10)).map((s) => s.id)).toEqual([early.id, onTime.id]);
        expect((await store.due(now, 1)).map((s) => s.id)).toEqual([early.id]);
      });

      it('recordRun moves a slot exactly once when several schedulers race for it', async () => {
        const stores = [await open(), await open(), await open()];
        const s = schedule({ repeats: 5 });
        await stores[0]!.save(s);
        const next = { nextRunAt: s.nextRunAt + 300_000, repeats: 4, lastRunAt: s.nextRunAt };
        const outcomes = await Promise.all(
          Array.from({ length: 9 }, (_, i) => stores[i % 3]!.recordRun(s.id, s.nextRunAt, next)),
        );
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const moved = await stores[1]!.get(s.id);
        expect(moved?.nextRunAt).toBe(next.nextRunAt);
        expect(moved?.repeats).toBe(4);
        expect(moved?.lastRunAt).toBe(s.nextRunAt);
        expect(await stores[2]!.recordRun(s.id, s.nextRunAt, next)).toBe(false);
        expect(await stores[2]!.recordRun('missing', s.nextRunAt, next)).toBe(false);
      });

      it("keeps deployments apart: stores of different deployment names never see each other's schedules or locks", async () => {
        const deployments = [DEFAULT_DEPLOYMENT, uniqueName('alpha'), uniqueName('beta')];
        const stores = await Promise.all(deployments.map((deployment) => open(deployment)));
        const separated = "the deployment name must be part of the schedule store's namespace";
        const now = Date.UTC(2030, 0, 1, 12, 0);
        // The same schedule id and name in every deployment, each with its own task.
        const shared = schedule({ nextRunAt: now - 1000 });
        const lock = uniqueName('scheduler');
        for (const [index, store] of stores.entries()) {
          await store.save({ ...shared, task: `${deployments[index]}.task` });
        }
        await stores[1]!.save(schedule({ nextRunAt: now - 2000 }));
        for (const [index, store] of stores.entries()) {
          expect((await store.get(shared.id))?.task, separated).toBe(`${deployments[index]}.task`);
          expect(await store.list(), separated).toHaveLength(index === 1 ? 2 : 1);
          expect((await store.due(now, 10)).length, separated).toBe(index === 1 ? 2 : 1);
          expect(await store.acquireLeadership(lock, `cluster-${index}`, 5000), separated).toBe(true);
        }
        const next = { nextRunAt: now + 300_000, repeats: -1, lastRunAt: now - 1000 };
        expect(await stores[0]!.recordRun(shared.id, shared.nextRunAt, next), separated).toBe(true);
        expect(await stores[2]!.recordRun(shared.id, shared.nextRunAt, next), separated).toBe(true);
        expect(await stores[2]!.remove(shared.id), separated).toBe(true);
        expect((await stores[1]!.get(shared.id))?.nextRunAt, separated).toBe(shared.nextRunAt);
        expect((await stores[0]!.get(shared.id))?.nextRunAt, separated).toBe(next.nextRunAt);
      });

      it('grants the leader lock to one owner at a time, renews it, and hands it over after expiry', async () => {
        const [a, b] = [await open(), await open()];
        const lock = uniqueName('scheduler');
        expect(await a!.acquireLeadership(lock, 'cluster-a', 1000)).toBe(true);
        expect(await b!.acquireLeadership(lock, 'cluster-b', 1000)).toBe(false);
        expect(await a!.acquireLeadership(lock, 'cluster-a', 1000)).toBe(true);
        await sleep(1500);
        expect(await b!.acquireLeadership(lock, 'cluster-b', 5000)).toBe(true);
        expect(await a!.acquireLeadership(lock, 'cluster-a', 5000)).toBe(false);
        await a!.releaseLeadership(lock, 'cluster-a');
        expect(await a!.acquireLeadership(lock, 'cluster-a', 5000)).toBe(false);
        await b!.releaseLeadership(lock, 'cluster-b');
        expect(await a!.acquireLeadership(lock, 'cluster-a', 5000)).toBe(true);
      });
    },
  );
}
