/**
 * Paging of dead letters a broker has read into memory: for backends whose server cannot page a dead
 * queue itself (RabbitMQ and SQS read the whole dead queue, then page here). The cursor is
 * `deadAt:packageId` of the last letter shown, so a page goes on where the last one ended even when
 * letters die or go meanwhile.
 */
import { InvalidArgumentError } from '../errors.js';
import type { PackagePage, StoredPackage } from './broker-administration.js';

/** Where a dead-letter page resumes: after this letter, in {@link newestDeathFirst} order. */
export interface DeadLetterCursor {
  readonly deadAt: number;
  readonly packageId: string;
}

/** Newest death first; within one millisecond, by package id (descending), so the order is total. */
export function newestDeathFirst(
  a: { readonly deadAt?: number; readonly packageId: string },
  b: { readonly deadAt?: number; readonly packageId: string },
): number {
  const byTime = (b.deadAt ?? 0) - (a.deadAt ?? 0);
  if (byTime !== 0) return byTime;
  return a.packageId < b.packageId ? 1 : a.packageId > b.packageId ? -1 : 0;
}

/** The cursor after a dead letter: its death time and package id. */
export function deadLetterCursor(stored: Pick<StoredPackage, 'deadAt' | 'packageId'>): string {
  return `${stored.deadAt ?? 0}:${stored.packageId}`;
}

/**
 * Reads a cursor made by {@link deadLetterCursor}; `broker` names the broker in the error (a cursor
 * passed to the wrong broker should say so).
 */
export function parseDeadLetterCursor(cursor: unknown, broker: string): DeadLetterCursor {
  const match = typeof cursor === 'string' ? /^(\d+):(.+)$/.exec(cursor) : null;
  if (!match) {
    throw new InvalidArgumentError(
      `cursor ${JSON.stringify(cursor)} was not made by the ${broker} broker: pass the \`next\` of the previous page`,
    );
  }
  return { deadAt: Number(match[1]), packageId: match[2] as string };
}

/**
 * One page of `letters` (in any order): those of `task` when given, newest death first, after `after`
 * when given, at most `limit`, with a `next` cursor when more follow.
 */
export function pageOfDeadLetters(
  letters: readonly StoredPackage[],
  query: { readonly limit: number; readonly after?: DeadLetterCursor; readonly task?: string },
): PackagePage {
  const { limit, after, task } = query;
  const matching = letters
    .filter((stored) => task === undefined || stored.task === task)
    .sort(newestDeathFirst)
    .filter((stored) => after === undefined || newestDeathFirst(stored, after) > 0);
  const packages = matching.slice(0, limit);
  const last = packages.at(-1);
  return matching.length > limit && last ? { packages, next: deadLetterCursor(last) } : { packages };
}
