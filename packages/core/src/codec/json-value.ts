/**
 * JSON that keeps the values task arguments and results actually carry: Date, BigInt, Uint8Array (and
 * Buffer), Map, Set, undefined, NaN and ±Infinity. Special values are written as `{"$tasq": tag, "v": …}`;
 * a plain object that itself has a `$tasq` key is escaped as an entry list so it can never be mistaken
 * for a tag. Decoding refuses `__proto__` keys and `constructor.prototype` shapes (prototype pollution)
 * and evaluates nothing.
 */
import { PackageRejectedError } from '../errors.js';

const TAG = '$tasq';

function tagged(tag: string, v: unknown): Record<string, unknown> {
  return { [TAG]: tag, v };
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Convert one value to its JSON-safe form. Recurses by hand: a replacer cannot see Dates before toJSON runs. */
function encodeValue(value: unknown, seen: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : tagged('number', String(value));
    case 'bigint':
      return tagged('bigint', value.toString());
    case 'undefined':
      return tagged('undefined', 0);
    case 'function':
    case 'symbol':
      throw new TypeError(`cannot serialize a ${typeof value}`);
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) throw new TypeError('cannot serialize a circular structure');
  if (object instanceof Date)
    return tagged('date', Number.isNaN(object.getTime()) ? null : object.toISOString());
  if (object instanceof Uint8Array) return tagged('bytes', toBase64(object));
  seen.add(object);
  try {
    if (Array.isArray(object)) return object.map((item) => encodeValue(item, seen));
    if (object instanceof Map) {
      return tagged(
        'map',
        [...object].map(([k, v]) => [encodeValue(k, seen), encodeValue(v, seen)]),
      );
    }
    if (object instanceof Set)
      return tagged(
        'set',
        [...object].map((item) => encodeValue(item, seen)),
      );
    if (ArrayBuffer.isView(object)) throw new TypeError(`cannot serialize a ${object.constructor.name}`);
    if (object instanceof Error) {
      return tagged('error', { name: object.name, message: object.message, stack: object.stack });
    }
    const out: Record<string, unknown> = {};
    let needsEscape = false;
    for (const key of Object.keys(object)) {
      if (key === TAG) needsEscape = true;
      out[key] = encodeValue((object as Record<string, unknown>)[key], seen);
    }
    if (needsEscape) return tagged('object', Object.entries(out));
    return out;
  } finally {
    seen.delete(object);
  }
}

function forbid(key: string): never {
  throw new PackageRejectedError('forbidden-key', `payload contains the forbidden key "${key}"`);
}

function decodeTag(object: Record<string, unknown>): unknown {
  const v = object.v;
  switch (object[TAG]) {
    case 'date':
      return v === null ? new Date(Number.NaN) : new Date(v as string);
    case 'bigint':
      return BigInt(v as string);
    case 'bytes': {
      const buffer = Buffer.from(v as string, 'base64');
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    }
    case 'number':
      return Number(v);
    case 'undefined':
      return undefined;
    case 'map':
      return new Map(v as [unknown, unknown][]);
    case 'set':
      return new Set(v as unknown[]);
    case 'error': {
      const info = v as { name: string; message: string; stack?: string };
      const error = new Error(info.message);
      error.name = info.name;
      if (info.stack !== undefined) error.stack = info.stack;
      return error;
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, item] of v as [string, unknown][]) {
        if (key === '__proto__') forbid(key);
        out[key] = item;
      }
      return out;
    }
    default:
      throw new PackageRejectedError('malformed-payload', `unknown value tag "${String(object[TAG])}"`);
  }
}

/**
 * Whether the parsed tree of `text` may hold a tag or an unsafe key, so it must be walked. Text without
 * `$tasq`, `__proto__`, `constructor` and `\u` escapes (which could spell any of them) parses to plain
 * data as it is: most packages and results, for which a few substring searches are cheaper than a walk.
 */
function needsRevival(text: string): boolean {
  return (
    text.includes(TAG) || text.includes('__proto__') || text.includes('constructor') || text.includes('\\u')
  );
}

/**
 * Decode tags and refuse unsafe keys in a freshly parsed tree, children before parents (so a tag's `v`
 * is decoded when the tag is). A walk after a plain JSON.parse instead of a reviver: the reviver call
 * per value made decoding a small package 4-6 times slower.
 */
function reviveTree(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (typeof item === 'object' && item !== null) value[i] = reviveTree(item);
    }
    return value;
  }
  const object = value as Record<string, unknown>;
  // JSON.parse makes plain objects with own data properties only, so for-in sees exactly those keys,
  // `__proto__` included (it is an own property here, not the prototype).
  for (const key in object) {
    if (key === '__proto__') forbid(key);
    const item = object[key];
    if (typeof item !== 'object' || item === null) continue;
    const revived = reviveTree(item);
    if (
      key === 'constructor' &&
      typeof revived === 'object' &&
      revived !== null &&
      !Array.isArray(revived) &&
      Object.hasOwn(revived, 'prototype')
    ) {
      forbid('constructor.prototype');
    }
    object[key] = revived;
  }
  if (Object.hasOwn(object, TAG)) return decodeTag(object);
  return object;
}

/** Deeper than this, the fast path gives up and the full encoder (which finds cycles) takes over. */
const PLAIN_DEPTH_LIMIT = 64;

/**
 * True when JSON.stringify alone writes exactly what encodeValue would: only strings, booleans, finite
 * numbers, null, arrays and plain objects without a `$tasq` key. Most arguments and results are like
 * that; checking them is about three times cheaper than copying them through encodeValue.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > PLAIN_DEPTH_LIMIT) return false;
  if (Array.isArray(value)) {
    // A hole reads as undefined: not plain, so the full encoder keeps it as it always has.
    for (let i = 0; i < value.length; i++) if (!isPlainJson(value[i], depth + 1)) return false;
    return true;
  }
  // Class instances (Date, Map, Buffer, anything with its own toJSON) go through the full encoder.
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  const object = value as Record<string, unknown>;
  for (const key in object) {
    if (key === TAG || !isPlainJson(object[key], depth + 1)) return false;
  }
  return true;
}

/** Encode any supported value as a JSON string. Throws TypeError for functions, symbols and cycles. */
export function encodeJsonValue(value: unknown): string {
  if (isPlainJson(value, 0)) return JSON.stringify(value);
  return JSON.stringify(encodeValue(value, new Set()));
}

/**
 * Decode a string written by `encodeJsonValue`. Throws PackageRejectedError (`malformed-payload` or
 * `forbidden-key`) for text that is not valid or not safe.
 */
export function decodeJsonValue(text: string): unknown {
  try {
    const tree = JSON.parse(text);
    return needsRevival(text) ? reviveTree(tree) : tree;
  } catch (error) {
    if (error instanceof PackageRejectedError) throw error;
    throw new PackageRejectedError('malformed-payload', `invalid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
}

/**
 * The form in which result backends and schedule stores persist values they do not interpret
 * (results, arguments, errors, options): a JSON string that keeps Date, BigInt, Map, Set and bytes.
 */
export const encodeStoredValue = encodeJsonValue;
export const decodeStoredValue = decodeJsonValue;
