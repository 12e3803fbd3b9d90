/**
 * Document ↔ core shape mapping, through real BSON: each document is serialised and parsed with the
 * driver's own BSON library, as it would be on its way to and from the server.
 */
import {
  type Delivery,
  InvalidArgumentError,
  type ScheduleRecord,
  type TaskResult,
} from '@tasq/core/backend';
import { BSON, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  deliveryFromDocument,
  newPackageDocument,
  type PackageDocument,
  type ResultDocument,
  leaseOf,
  resultFromDocument,
  resultToDocument,
  type ScheduleDocument,
  scheduleFromDocument,
  scheduleToDocument,
} from './mongo-documents.js';

/** What the server would hand back: the document after a BSON round trip. */
function throughBson<T extends object>(document: T): T {
  return BSON.deserialize(BSON.serialize(document)) as T;
}

describe('package documents', () => {
  it('store the body as BSON binary and give back the same bytes, every byte value included', () => {
    const body = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    const document = newPackageDocument('emails', body, { priority: 7, runAt: 2_000, now: 1_000 });
    const stored = throughBson(document);
    expect(stored.body).toBeInstanceOf(BSON.Binary);
    expect(stored.body.sub_type).toBe(0);
    expect(stored).toMatchObject({
      queue: 'emails',
      priority: 7,
      runAt: 2_000,
      lockedUntil: 0,
      deliveries: 0,
    });

    const claimed: PackageDocument = { ...stored, leaseToken: 'token-1', deliveries: 2, lockedUntil: 31_000 };
    const delivery = deliveryFromDocument(throughBson(claimed));
    expect(delivery.id).toBe(document._id.toHexString());
    expect(delivery.queue).toBe('emails');
    expect(delivery.deliveries).toBe(2);
    expect(Buffer.from(delivery.body).equals(Buffer.from(body))).toBe(true);
    expect(delivery.receipt).toEqual({ packageId: document._id.toHexString(), leaseToken: 'token-1' });
    expect(leaseOf(delivery)).toEqual({ _id: document._id, leaseToken: 'token-1' });
  });

  it('keep receipts usable after a structured clone or a JSON round trip', () => {
    const document = newPackageDocument('q', new Uint8Array([1]), { priority: 0, runAt: 1, now: 1 });
    const delivery = deliveryFromDocument({ ...document, leaseToken: 'token-2', deliveries: 1 });
    const cloned = structuredClone(delivery);
    const parsed = { ...delivery, receipt: JSON.parse(JSON.stringify(delivery.receipt)) };
    for (const copy of [cloned, parsed]) {
      expect(leaseOf(copy)).toEqual({ _id: document._id, leaseToken: 'token-2' });
    }
  });

  it('keep an empty body empty', () => {
    const document = newPackageDocument('q', new Uint8Array(0), { priority: 0, runAt: 1, now: 1 });
    const delivery = deliveryFromDocument(throughBson({ ...document, leaseToken: 't', deliveries: 1 }));
    expect(delivery.body.byteLength).toBe(0);
  });

  it('get ids that increase in enqueue order within one producer', () => {
    const ids = Array.from(
      { length: 50 },
      () => newPackageDocument('q', new Uint8Array(1), { priority: 0, runAt: 1, now: 1 })._id,
    );
    const sorted = [...ids].sort((a, b) => Buffer.compare(a.id, b.id));
    expect(sorted.map(String)).toEqual(ids.map(String));
  });

  it('refuse a delivery that came from another broker with InvalidArgumentError', () => {
    const foreign: Delivery = {
      id: 'x',
      queue: 'q',
      body: new Uint8Array(),
      deliveries: 1,
      receipt: 'redis-handle',
    };
    expect(() => leaseOf(foreign)).toThrow(InvalidArgumentError);
    expect(() => leaseOf({ ...foreign, receipt: { packageId: 'not-hex', leaseToken: 't' } })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      leaseOf({ ...foreign, receipt: { packageId: new ObjectId().toHexString(), leaseToken: 5 } }),
    ).toThrow(/was not reserved from a mongo broker/);
  });
});

const success: TaskResult = {
  id: '0000000001-00000001',
  name: 'reports.build',
  queue: 'reports',
  status: 'success',
  result: {
    when: new Date('2030-05-06T07:08:09.010Z'),
    big: 2n ** 70n,
    tags: new Set(['a']),
    byKey: new Map([['k', 1]]),
  },
  args: [1, 'x', new Date(0)],
  group: 'g1',
  groupIndex: 3,
  keepUntilClaimed: 'chord:g1',
  attempts: 2,
  enqueuedAt: 1_000,
  startedAt: 1_100,
  stoppedAt: 1_200,
};

describe('result documents', () => {
  it('round-trip a success with rich values, through BSON', () => {
    const stored = throughBson(resultToDocument(success, new Date(5_000), undefined));
    expect(stored._id).toBe(success.id);
    expect(typeof stored.result).toBe('string');
    expect(resultFromDocument(stored)).toEqual(success);
  });

  it('round-trip a failure, leaving absent fields absent', () => {
    const failure: TaskResult = {
      id: 'f1',
      name: 'email.send',
      queue: 'default',
      status: 'failure',
      error: { name: 'TypeError', message: 'x is not a function', stack: 'TypeError: x\n    at y' },
      attempts: 3,
      enqueuedAt: 1,
      startedAt: 2,
      stoppedAt: 3,
    };
    const stored = throughBson(resultToDocument(failure, new Date(5_000), undefined));
    expect(Object.keys(stored).sort()).toEqual(
      [
        '_id',
        'attempts',
        'enqueuedAt',
        'error',
        'name',
        'queue',
        'savedAt',
        'startedAt',
        'status',
        'stoppedAt',
      ].sort(),
    );
    const back = resultFromDocument(stored);
    expect(back).toEqual(failure);
    expect('result' in back).toBe(false);
  });

  it('stamp the TTL expiry as a BSON date, the only type a TTL index expires', () => {
    const stored = throughBson(resultToDocument(success, new Date(5_000), new Date(65_000)));
    expect(stored.expiresAt).toBeInstanceOf(Date);
    expect(stored.expiresAt?.getTime()).toBe(65_000);
    expect(throughBson(resultToDocument(success, new Date(5_000), undefined)).expiresAt).toBeUndefined();
  });

  it('keep user object keys that BSON field names could not hold', () => {
    const odd: TaskResult = { ...success, result: { $where: 'x', 'a.b': 1 } };
    const stored: ResultDocument = throughBson(resultToDocument(odd, new Date(0), undefined));
    expect(resultFromDocument(stored).result).toEqual({ $where: 'x', 'a.b': 1 });
  });
});

describe('schedule documents', () => {
  it('round-trip a schedule with dated arguments, optional fields absent when unset', () => {
    const schedule: ScheduleRecord = {
      id: 's1',
      name: 'nightly-report',
      task: 'reports.build',
      args: ['weekly', new Date('2030-01-01T00:00:00.000Z')],
      options: { queue: 'reports', priority: 3 },
      kind: 'cron',
      cron: '*/5 * * * *',
      timeZone: 'Europe/Berlin',
      repeats: -1,
      nextRunAt: Date.UTC(2030, 0, 1, 12),
      paused: false,
      createdAt: Date.UTC(2029, 11, 31),
    };
    const stored: ScheduleDocument = throughBson(scheduleToDocument(schedule));
    expect(stored.minutes).toBeUndefined();
    expect(stored.lastRunAt).toBeUndefined();
    expect(scheduleFromDocument(stored)).toEqual(schedule);
    const minutes = { ...schedule, kind: 'minutes' as const, cron: undefined, minutes: 15, lastRunAt: 7 };
    expect(scheduleFromDocument(throughBson(scheduleToDocument(minutes)))).toEqual(minutes);
  });
});
