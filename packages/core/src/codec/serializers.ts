/**
 * Serializers turn a task package (a plain object of values) into bytes and back. The name travels in
 * every frame, so a consumer knows which one to use; a user's own serializer registers under its name.
 */
import { createRequire } from 'node:module';
import type { Packr } from 'msgpackr';
import { PackageRejectedError } from '../errors.js';
import { decodeJsonValue, encodeJsonValue } from './json-value.js';

export interface Serializer {
  /** Up to 32 ASCII letters, digits, `-` or `_`: it is written into every frame. */
  readonly name: string;
  serialize(value: unknown): Uint8Array;
  /** Throw for input that is not valid; never evaluate anything found in it. */
  deserialize(bytes: Uint8Array): unknown;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The default: JSON that keeps Date, BigInt, Uint8Array, Map, Set; readable by any language with a little work. */
export const jsonSerializer: Serializer = {
  name: 'json',
  serialize: (value) => encoder.encode(encodeJsonValue(value)),
  deserialize: (bytes) => {
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch (error) {
      throw new PackageRejectedError('malformed-payload', 'payload is not valid UTF-8', { cause: error });
    }
    return decodeJsonValue(text);
  },
};

// structuredClone mode keeps Map, Set, Date, BigInt and typed arrays; msgpackr renames `__proto__` keys
// on decode, so decoding cannot reach an object's prototype. Loaded on first use: most deployments never
// use msgpack, and msgpackr costs ~8 MB in every process that loads it.
const require = createRequire(import.meta.url);
let packr: Packr | undefined;
function msgpack(): Packr {
  packr ??= new (require('msgpackr') as typeof import('msgpackr')).Packr({ structuredClone: true });
  return packr;
}

/** MessagePack via msgpackr: smaller and faster than JSON for large or binary-heavy arguments. */
export const msgpackSerializer: Serializer = {
  name: 'msgpack',
  serialize: (value) => msgpack().pack(value),
  deserialize: (bytes) => {
    try {
      return msgpack().unpack(bytes);
    } catch (error) {
      throw new PackageRejectedError(
        'malformed-payload',
        `invalid MessagePack (${(error as Error).message})`,
        {
          cause: error,
        },
      );
    }
  },
};

export const builtInSerializers: readonly Serializer[] = [jsonSerializer, msgpackSerializer];
