import { describe, expect, it } from 'vitest';
import {
  CLAIM_INDEXES,
  CLAIM_SORT,
  collectionNames,
  PACKAGE_CLAIM_INDEX,
  PACKAGE_INDEXES,
  RESULT_INDEXES,
  SCHEDULE_INDEXES,
} from './mongo-collections.js';
import { deploymentShapeFromHello, supportsChangeStreams } from './mongo-connection.js';

describe('indexes', () => {
  it('the claim index leads with the queue and then follows the claim sort exactly, so no claim sorts in memory', () => {
    const keys = Object.entries(PACKAGE_CLAIM_INDEX.key);
    expect(keys[0]).toEqual(['queue', 1]);
    expect(keys.slice(1, 1 + Object.keys(CLAIM_SORT).length)).toEqual(Object.entries(CLAIM_SORT));
    // lockedUntil is in the index, so locked packages are skipped on index keys without fetching documents.
    expect(keys.map(([field]) => field)).toContain('lockedUntil');
  });

  it('gives every index a unique name within its collection', () => {
    for (const indexes of [PACKAGE_INDEXES, RESULT_INDEXES, CLAIM_INDEXES, SCHEDULE_INDEXES]) {
      const names = indexes.map((index) => index.name);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('expires results and claims at the date stored in expiresAt (a TTL of 0 seconds past it)', () => {
    for (const indexes of [RESULT_INDEXES, CLAIM_INDEXES]) {
      const ttl = indexes.filter((index) => index.expireAfterSeconds !== undefined);
      expect(ttl).toEqual([{ name: 'tasq_expiry', key: { expiresAt: 1 }, expireAfterSeconds: 0 }]);
    }
  });

  it('serves each administration read from an index in the order it reads', () => {
    const byName = new Map(PACKAGE_INDEXES.map((index) => [index.name, index]));
    expect(byName.get('tasq_job')?.key).toEqual({ jobId: 1, _id: -1 });
    expect(byName.get('tasq_browse')?.key).toEqual({ queue: 1, _id: -1 });
    expect(byName.get('tasq_browse_task')?.key).toEqual({ queue: 1, task: 1, _id: -1 });
    expect(byName.get('tasq_dead')?.key).toEqual({ queue: 1, 'deadLetter.at': -1, _id: -1 });
  });

  it('makes schedule names unique', () => {
    expect(SCHEDULE_INDEXES.find((index) => index.unique)?.key).toEqual({ name: 1 });
  });
});

describe('collection names', () => {
  it('prefix every collection', () => {
    expect(Object.values(collectionNames('app_'))).toEqual([
      'app_packages',
      'app_results',
      'app_claims',
      'app_schedules',
      'app_locks',
      'app_queue_flags',
      'app_cancel_marks',
      'app_progress',
    ]);
  });
});

describe('deployment detection', () => {
  it('uses change streams on a replica set member and on mongos, never on a standalone server', () => {
    const primary = { isWritablePrimary: true, setName: 'rs0', hosts: ['a:27017'], ok: 1 };
    const mongos = { isWritablePrimary: true, msg: 'isdbgrid', ok: 1 };
    const standalone = { isWritablePrimary: true, maxWireVersion: 25, ok: 1 };
    expect(supportsChangeStreams(deploymentShapeFromHello(primary))).toBe(true);
    expect(deploymentShapeFromHello(primary).setName).toBe('rs0');
    expect(supportsChangeStreams(deploymentShapeFromHello(mongos))).toBe(true);
    expect(supportsChangeStreams(deploymentShapeFromHello(standalone))).toBe(false);
  });
});
