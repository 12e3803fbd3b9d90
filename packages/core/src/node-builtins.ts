/**
 * node:crypto and node:zlib, loaded on first use. A worker process imports @tasq/core (its tasks module
 * does) but never signs, verifies, compresses or makes an id: without them the worker runtime's imports
 * cost 9.7 instead of 10.9 MiB of resident memory, and a first HMAC or zlib call would add more.
 */
import type * as Crypto from 'node:crypto';
import type * as Zlib from 'node:zlib';

let crypto: typeof Crypto | undefined;
let zlib: typeof Zlib | undefined;

export function nodeCrypto(): typeof Crypto {
  crypto ??= process.getBuiltinModule('node:crypto');
  return crypto;
}

export function nodeZlib(): typeof Zlib {
  zlib ??= process.getBuiltinModule('node:zlib');
  return zlib;
}
