/**
 * node:crypto and node:zlib, loaded on first use. A worker process imports @tasq/core (its tasks module
 * does) but never signs, verifies, compresses or makes an id: without them the worker runtime's imports
 * cost 9.7 instead of 10.9 MiB of resident memory, and a first HMAC or zlib call would add more.
 */
import type * as Crypto from 'node:crypto';
import type * as Zlib from 'node:zlib';
import { nodeVersionMessage } from './node-version.js';

let crypto: typeof Crypto | undefined;
let zlib: typeof Zlib | undefined;

export function nodeCrypto(): typeof Crypto {
  crypto ??= builtin('node:crypto');
  return crypto;
}

export function nodeZlib(): typeof Zlib {
  zlib ??= builtin('node:zlib');
  return zlib;
}

function builtin<Name extends 'node:crypto' | 'node:zlib'>(name: Name) {
  // Missing before Node.js 22.3 (and 20.16): say which version is needed rather than "not a function".
  if (typeof process.getBuiltinModule !== 'function') throw new Error(nodeVersionMessage('@tasq/core'));
  return process.getBuiltinModule(name);
}
