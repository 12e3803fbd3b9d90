/**
 * Input checks every broker's administration shares, so a bad argument gets the same clear error from
 * each backend. For backend authors: call these at the top of each `BrokerAdministration` method, before
 * anything reaches the server.
 */
import { InvalidArgumentError } from '../errors.js';
import type { LivePackageState, RequeueRequest } from './broker-administration.js';

/** The largest page a list may ask for. */
export const MAX_LIST_LIMIT = 1_000;

/** Every state `list` browses, in the order errors name them. */
export const LIVE_PACKAGE_STATES: readonly LivePackageState[] = ['ready', 'delayed', 'reserved'];

/** A page size: an integer from 1 to {@link MAX_LIST_LIMIT}. */
export function checkLimit(limit: unknown): number {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InvalidArgumentError(
      `limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${String(limit)}`,
    );
  }
  return limit;
}

/** A required name or id (`queue`, `jobId`, `packageId`, ...): a non-empty string. */
export function checkText(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(`${name} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** An optional filter such as `task`: absent, or a non-empty string. */
export function optionalText(name: string, value: unknown): string | undefined {
  return value === undefined ? undefined : checkText(name, value);
}

/** An optional bound such as a retention's `maxAgeMs` or `maxCount`: absent, or a number of 0 or more (floored). */
export function optionalCount(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a number of 0 or more, got ${String(value)}`);
  }
  return Math.floor(value);
}

/** The states a `list` asks for: all live states when none are given, each at most once. */
export function checkLiveStates(
  states: readonly LivePackageState[] | undefined,
): readonly LivePackageState[] {
  if (states === undefined || states.length === 0) return LIVE_PACKAGE_STATES;
  for (const state of states) {
    if (!LIVE_PACKAGE_STATES.includes(state)) {
      throw new InvalidArgumentError(
        `unknown package state ${JSON.stringify(state)}: use ${LIVE_PACKAGE_STATES.join(', ')}`,
      );
    }
  }
  return [...new Set(states)];
}

/** The argument of `requeueDead`: a list of requests, each naming a package id, with a new body as bytes if any. */
export function checkRequeueRequests(requests: unknown): readonly RequeueRequest[] {
  if (!Array.isArray(requests)) throw new InvalidArgumentError('requeueDead takes a list of requests');
  for (const request of requests as RequeueRequest[]) {
    checkText('packageId', request?.packageId);
    if (request.queue !== undefined) checkText('queue', request.queue);
    if (request.body !== undefined && !(request.body instanceof Uint8Array)) {
      throw new InvalidArgumentError(`the new body of dead letter ${request.packageId} must be a Uint8Array`);
    }
  }
  return requests;
}

/** The argument of `deleteDead`: a list of non-empty package ids. */
export function checkPackageIds(packageIds: unknown): readonly string[] {
  if (!Array.isArray(packageIds)) throw new InvalidArgumentError('deleteDead takes a list of package ids');
  for (const id of packageIds) checkText('packageId', id);
  return packageIds;
}
