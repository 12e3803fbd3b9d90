/**
 * The documents tasq stores, and their mapping to and from core's shapes. Pure functions: no I/O.
 */
import {
  type Delivery,
  InvalidArgumentError,
  type PackageLabel,
  type ScheduleRecord,
  type TaskErrorInfo,
  type TaskResult,
} from '@tasq/core/backend';
import { Binary, ObjectId } from 'mongodb';
import { decodeStored, encodeStored } from './mongo-stored-values.js';

/**
 * `lockedUntil` of a dead-lettered package: later than any lease, so no claim ever matches it, and a
 * single value, so `size().dead` is an equality count on the lease index.
 */
export const DEAD_LETTER_LOCK = Number.MAX_SAFE_INTEGER;

/** One package. Times are epoch milliseconds of the producing or claiming process's clock. */
export interface PackageDocument {
  _id: ObjectId;
  queue: string;
  /** The opaque package bytes, as BSON binary subtype 0. */
  body: Binary;
  /** 0..9, higher first. */
  priority: number;
  /** Not deliverable before this time (enqueue delay, delayed release). */
  runAt: number;
  /** End of the current lease; 0 when not leased; {@link DEAD_LETTER_LOCK} once dead-lettered. */
  lockedUntil: number;
  /** Random per claim. A receipt whose token differs belongs to a lease that has moved on. */
  leaseToken?: string;
  /** Deliveries so far, this one included once claimed. */
  deliveries: number;
  enqueuedAt: number;
  /** Why and when the package was dead-lettered. */
  deadLetter?: { reason: string; at: number };
  /** The job's label (`EnqueueOptions.labels`), for administration; absent on unlabelled packages. */
  jobId?: string;
  task?: string;
  expiresAt?: number;
}

/**
 * What a {@link Delivery}'s `receipt` holds for this broker: plain strings, so a receipt survives being
 * copied between threads or processes (structured clone, JSON) unchanged.
 */
export interface MongoReceipt {
  /** The package document's `_id`, as 24 hex digits. */
  readonly packageId: string;
  readonly leaseToken: string;
}

/** The filter that matches a package only while the lease named by a receipt still holds it. */
export interface LeaseFilter {
  _id: ObjectId;
  leaseToken: string;
}

/** A new ready (or delayed) package document. */
export function newPackageDocument(
  queue: string,
  body: Uint8Array,
  options: { priority: number; runAt: number; now: number; label?: PackageLabel | undefined },
): PackageDocument {
  const label = options.label;
  return {
    _id: new ObjectId(),
    queue,
    // Binary copies nothing; the driver serialises the bytes as they are when the insert is sent.
    body: new Binary(body),
    priority: options.priority,
    runAt: options.runAt,
    lockedUntil: 0,
    deliveries: 0,
    enqueuedAt: options.now,
    ...(label ? { jobId: label.jobId, task: label.task } : {}),
    ...(label?.expiresAt !== undefined ? { expiresAt: label.expiresAt } : {}),
  };
}

/** The delivery a claimed package document becomes. */
export function deliveryFromDocument(document: PackageDocument): Delivery {
  if (document.leaseToken === undefined) {
    throw new Error(`package ${document._id.toHexString()} was read back without a lease token`);
  }
  const receipt: MongoReceipt = { packageId: document._id.toHexString(), leaseToken: document.leaseToken };
  return {
    id: document._id.toHexString(),
    queue: document.queue,
    body: bodyBytes(document.body),
    deliveries: document.deliveries,
    receipt,
  };
}

/** The bytes of a stored body, whatever form the driver returned it in. */
export function bodyBytes(body: Binary | Uint8Array): Uint8Array {
  if (body instanceof Binary) return body.value();
  return body;
}

/**
 * The lease filter of `delivery`'s receipt, checked: a delivery from another broker is a caller error
 * (`InvalidArgumentError`), not a lost lease.
 */
export function leaseOf(delivery: Delivery): LeaseFilter {
  const receipt = delivery?.receipt as Partial<MongoReceipt> | undefined;
  if (
    !receipt ||
    typeof receipt.packageId !== 'string' ||
    !/^[0-9a-f]{24}$/i.test(receipt.packageId) ||
    typeof receipt.leaseToken !== 'string'
  ) {
    throw new InvalidArgumentError(
      `delivery ${String(delivery?.id)} does not carry a mongo receipt; it was not reserved from a mongo broker`,
    );
  }
  return { _id: ObjectId.createFromHexString(receipt.packageId), leaseToken: receipt.leaseToken };
}

/** One task outcome. `_id` is the job id, so `_id` order is enqueue order. */
export interface ResultDocument {
  _id: string;
  name: string;
  queue: string;
  status: TaskResult['status'];
  /** Stored-value text of `result`. */
  result?: string;
  /** Stored-value text of `error`. */
  error?: string;
  /** Stored-value text of `args`. */
  args?: string;
  group?: string;
  groupIndex?: number;
  /** The claim key prune waits for before it may delete this success (a chord member's). */
  keepUntilClaimed?: string;
  attempts: number;
  enqueuedAt: number;
  startedAt: number;
  stoppedAt: number;
  savedAt: Date;
  /** Set when results are `cached`: the TTL index removes the document after this date. */
  expiresAt?: Date;
}

export function resultToDocument(
  result: TaskResult,
  savedAt: Date,
  expiresAt: Date | undefined,
): ResultDocument {
  const document: ResultDocument = {
    _id: result.id,
    name: result.name,
    queue: result.queue,
    status: result.status,
    attempts: result.attempts,
    enqueuedAt: result.enqueuedAt,
    startedAt: result.startedAt,
    stoppedAt: result.stoppedAt,
    savedAt,
  };
  if (result.result !== undefined) document.result = encodeStored(result.result);
  if (result.error !== undefined) document.error = encodeStored(result.error);
  if (result.args !== undefined) document.args = encodeStored(result.args);
  if (result.group !== undefined) document.group = result.group;
  if (result.groupIndex !== undefined) document.groupIndex = result.groupIndex;
  if (result.keepUntilClaimed !== undefined) document.keepUntilClaimed = result.keepUntilClaimed;
  if (expiresAt !== undefined) document.expiresAt = expiresAt;
  return document;
}

export function resultFromDocument(document: ResultDocument): TaskResult {
  const result: TaskResult = {
    id: document._id,
    name: document.name,
    queue: document.queue,
    status: document.status,
    attempts: document.attempts,
    enqueuedAt: document.enqueuedAt,
    startedAt: document.startedAt,
    stoppedAt: document.stoppedAt,
  };
  if (document.result !== undefined) result.result = decodeStored(document.result);
  if (document.error !== undefined) result.error = decodeStored(document.error) as TaskErrorInfo;
  if (document.args !== undefined) result.args = decodeStored(document.args) as unknown[];
  if (document.group !== undefined) result.group = document.group;
  if (document.groupIndex !== undefined) result.groupIndex = document.groupIndex;
  if (document.keepUntilClaimed !== undefined) result.keepUntilClaimed = document.keepUntilClaimed;
  return result;
}

/** One schedule. `_id` is the schedule id. */
export interface ScheduleDocument {
  _id: string;
  name: string;
  task: string;
  /** Stored-value text of `args`. */
  args: string;
  /** Stored-value text of `options`. */
  options: string;
  kind: ScheduleRecord['kind'];
  cron?: string;
  minutes?: number;
  timeZone?: string;
  repeats: number;
  nextRunAt: number;
  lastRunAt?: number;
  paused: boolean;
  createdAt: number;
}

export function scheduleToDocument(schedule: ScheduleRecord): ScheduleDocument {
  const document: ScheduleDocument = {
    _id: schedule.id,
    name: schedule.name,
    task: schedule.task,
    args: encodeStored(schedule.args),
    options: encodeStored(schedule.options),
    kind: schedule.kind,
    repeats: schedule.repeats,
    nextRunAt: schedule.nextRunAt,
    paused: schedule.paused,
    createdAt: schedule.createdAt,
  };
  if (schedule.cron !== undefined) document.cron = schedule.cron;
  if (schedule.minutes !== undefined) document.minutes = schedule.minutes;
  if (schedule.timeZone !== undefined) document.timeZone = schedule.timeZone;
  if (schedule.lastRunAt !== undefined) document.lastRunAt = schedule.lastRunAt;
  return document;
}

export function scheduleFromDocument(document: ScheduleDocument): ScheduleRecord {
  const schedule: ScheduleRecord = {
    id: document._id,
    name: document.name,
    task: document.task,
    args: decodeStored(document.args) as unknown[],
    options: decodeStored(document.options) as Record<string, unknown>,
    kind: document.kind,
    repeats: document.repeats,
    nextRunAt: document.nextRunAt,
    paused: document.paused,
    createdAt: document.createdAt,
  };
  if (document.cron !== undefined) schedule.cron = document.cron;
  if (document.minutes !== undefined) schedule.minutes = document.minutes;
  if (document.timeZone !== undefined) schedule.timeZone = document.timeZone;
  if (document.lastRunAt !== undefined) schedule.lastRunAt = document.lastRunAt;
  return schedule;
}
