/**
 * The SQS broker's dead-letter administration beyond the shared cases: a labelled package of the
 * largest size still dead-letters with its label, reading dead letters takes none of them, and a
 * requeued letter lands on its own work queue. Against fauxqs over HTTP with the real SDK.
 */
import { uuidv7 } from '@tasq/core/backend';
import { readText, reserveUntil, text, uniqueName } from '@tasq/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqsBroker } from './sqs-broker.js';
import type { SqsBrokerOptions } from './sqs-options.js';
import { startEmulator } from './test-support/fauxqs.js';

const { emulator, skipReason } = await startEmulator();

describe.skipIf(skipReason !== undefined)(
  `sqs administration on fauxqs${skipReason ? `: skipped: ${skipReason}` : ''}`,
  () => {
    const brokers: SqsBroker[] = [];
    afterEach(async () => {
      for (const broker of brokers.splice(0)) await broker.close();
    });

    function broker(options: SqsBrokerOptions = {}): SqsBroker {
      const created = emulator!.broker(options);
      brokers.push(created);
      return created;
    }

    it('declares dead letters only: ready messages cannot be browsed, looked up or removed', () => {
      expect(broker().administration.capabilities).toEqual({
        lookup: false,
        browse: false,
        deadLetters: true,
        remove: false,
        pause: false,
        cancelMarks: false,
      });
    });

    it('a package of the largest size with a long task name dead-letters with its label and a reason', async () => {
      const small = broker({ maxPackageBytes: 262_144 });
      const queue = uniqueName('admin-at-limit');
      const jobId = uuidv7();
      const task = `reports.${'t'.repeat(400)}`;
      await small.enqueue(queue, [new Uint8Array(195_840)], {
        labels: [{ jobId, task, expiresAt: 1_900_000_000_000 }],
      });
      const [delivery] = await reserveUntil(small, queue, 1);
      await small.deadLetter(delivery!, `failed: ${'x'.repeat(5000)}`);
      const [dead] = (await small.administration.listDead!({ queue, limit: 1 })).packages;
      expect(dead).toMatchObject({
        packageId: delivery!.id,
        jobId,
        expiresAt: 1_900_000_000_000,
        deliveries: 1,
      });
      // Cut to fit the room kept for dead-letter attributes, never dropped.
      expect(task.startsWith(dead!.task!.slice(0, -1))).toBe(true);
      expect(dead!.deadReason!.startsWith('failed: xxx')).toBe(true);
      expect(dead!.body.byteLength).toBe(195_840);
    });

    it('reading dead letters takes none of them, and a requeued one goes back to its own queue once', async () => {
      const target = broker();
      const queue = uniqueName('admin-keep');
      const other = uniqueName('admin-other');
      await target.enqueue(queue, [text('one'), text('two')], {
        labels: [
          { jobId: uuidv7(), task: 'keep.task' },
          { jobId: uuidv7(), task: 'keep.task' },
        ],
      });
      await target.enqueue(other, [text('elsewhere')]);
      for (const delivery of await reserveUntil(target, queue, 2)) await target.deadLetter(delivery, 'no');
      for (let read = 0; read < 3; read++) {
        expect((await target.administration.listDead!({ queue, limit: 10 })).packages).toHaveLength(2);
      }
      expect((await target.size(queue)).dead).toBe(2);
      const [newest] = (await target.administration.listDead!({ queue, limit: 1 })).packages;
      // A fresh instance finds the letter by its package id alone: it looks through every dead-letter queue.
      const fresh = broker();
      expect(await fresh.administration.requeueDead!([{ packageId: newest!.packageId }])).toEqual([
        newest!.packageId,
      ]);
      expect(await fresh.administration.requeueDead!([{ packageId: newest!.packageId }])).toEqual([]);
      expect(await target.size(queue)).toMatchObject({ ready: 1, dead: 1 });
      expect(await target.size(other)).toMatchObject({ ready: 1, dead: 0 });
      const [again] = await reserveUntil(target, queue, 1);
      expect(readText(again!.body)).toBe(readText(newest!.body));
      expect(again!.deliveries).toBe(1);
    });
  },
);
