/** Which role a password opens, compared in constant time so response times say nothing about it. */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Role = 'operator' | 'viewer';

export interface Credentials {
  /** Pages and actions. */
  operator?: string;
  /** Pages only. */
  viewer?: string;
}

function digest(text: string): Buffer {
  // Hashing first makes both sides the same length, which timingSafeEqual needs, without revealing it.
  return createHash('sha256').update(text, 'utf8').digest();
}

export function samePassword(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The role `given` signs in as, or undefined. Both passwords are always compared. */
export function roleFor(given: string, credentials: Credentials): Role | undefined {
  const operator = credentials.operator !== undefined && samePassword(given, credentials.operator);
  const viewer = credentials.viewer !== undefined && samePassword(given, credentials.viewer);
  return operator ? 'operator' : viewer ? 'viewer' : undefined;
}
