import { describe, expect, it } from 'vitest';
import type { StoredPackage } from './broker-administration.js';
import { pageOfDeadLetters, parseDeadLetterCursor } from './dead-letter-page.js';
import { checkLimit, checkLiveStates, checkRequeueRequests } from './query-checks.js';

function letter(packageId: string, deadAt: number, task = 'send'): StoredPackage {
  return { packageId, task, queue: 'q', state: 'dead', deliveries: 1, deadAt, body: new Uint8Array() };
}

describe('pageOfDeadLetters', () => {
  const letters = [letter('a', 10), letter('b', 30), letter('c', 20, 'other'), letter('d', 30)];

  it('pages newest death first, ties by package id, each letter once', () => {
    const first = pageOfDeadLetters(letters, { limit: 2 });
    expect(first.packages.map((p) => p.packageId)).toEqual(['d', 'b']);
    const second = pageOfDeadLetters(letters, {
      limit: 2,
      after: parseDeadLetterCursor(first.next, 'test'),
    });
    expect(second.packages.map((p) => p.packageId)).toEqual(['c', 'a']);
    expect(second.next).toBeUndefined();
  });

  it('keeps only the letters of the task asked for', () => {
    expect(pageOfDeadLetters(letters, { limit: 10, task: 'other' }).packages.map((p) => p.packageId)).toEqual(
      ['c'],
    );
  });

  it('names the broker when a cursor is not one of its own', () => {
    expect(() => parseDeadLetterCursor('nonsense', 'sqs')).toThrow(/was not made by the sqs broker/);
  });
});

describe('query checks', () => {
  it('rejects a limit outside 1 to 1000 and an unknown state, saying what is allowed', () => {
    expect(() => checkLimit(1001)).toThrow(/limit must be an integer from 1 to 1000, got 1001/);
    expect(() => checkLiveStates(['dead' as never])).toThrow(/use ready, delayed, reserved/);
    expect(checkLiveStates(['ready', 'ready'])).toEqual(['ready']);
  });

  it('rejects a requeue whose new body is not bytes', () => {
    expect(() => checkRequeueRequests([{ packageId: 'p', body: 'text' }])).toThrow(
      /new body of dead letter p must be a Uint8Array/,
    );
  });
});
