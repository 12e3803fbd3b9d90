/**
 * The frame every task package travels in:
 *
 *   [0]      format version (1)
 *   [1]      header length H
 *   [2..2+H) header, ASCII: "<serializer>|<compressor>|<key id>"
 *   [+4]     payload length P, uint32 big-endian
 *   [+P]     payload: serialized, then compressed
 *   [+32]    HMAC-SHA256 over everything before it, keyed by the secret named by key id
 *
 * Decoding checks, in order, and stops at the first failure: length and version, the signature (before
 * the payload is looked at), then serializer and compressor names, then the payload itself. Secrets are a
 * list, newest first: packages are signed with the first and accepted under any, so keys can rotate
 * without dropping packages in flight.
 */
import type { KeyObject } from 'node:crypto';
import { PackageRejectedError } from '../errors.js';
import { nodeCrypto } from '../node-builtins.js';
import {
  builtInCompressors,
  type Compressor,
  defaultCompressorName,
  MAX_DECOMPRESSED_BYTES,
  noCompression,
} from './compressors.js';
import { builtInSerializers, type Serializer } from './serializers.js';

export const FORMAT_VERSION = 1;
const SIGNATURE_BYTES = 32;
const NAME = /^[A-Za-z0-9_-]{1,32}$/;

export interface FrameCodecOptions {
  /** The signing secret, or a list of secrets newest first (rotation). */
  secret: string | readonly string[];
  /** Serializer name (`json`, `msgpack`) or a serializer object. Default `json`. */
  serializer?: string | Serializer;
  /** false (default), true (gzip), or a compressor name. */
  compress?: boolean | string;
  /** Payloads smaller than this are not compressed. Default 1024 bytes. */
  compressMinBytes?: number;
  /** Extra serializers a consumer can decode (a user's own). */
  serializers?: readonly Serializer[];
  /** Extra compressors a consumer can decode. */
  compressors?: readonly Compressor[];
  /** Refuse packages that decompress to more than this. Default 256 MiB. */
  maxDecompressedBytes?: number;
}

interface SigningKey {
  id: string;
  key: KeyObject;
}

/** A short, stable, non-secret name for a secret, written into frames so the verifier picks the right key. */
export function keyIdOf(secret: string): string {
  return nodeCrypto().createHash('sha256').update(`tasq-key-id:${secret}`).digest('hex').slice(0, 8);
}

export class FrameCodec {
  private readonly keys: SigningKey[];
  private readonly serializers = new Map<string, Serializer>();
  private readonly compressors = new Map<string, Compressor>();
  private readonly serializer: Serializer;
  private readonly compressor: Compressor;
  private readonly compressMinBytes: number;
  private readonly maxDecompressedBytes: number;
  private readonly headerCache = new Map<string, Uint8Array>();

  constructor(options: FrameCodecOptions) {
    const secrets = typeof options.secret === 'string' ? [options.secret] : [...options.secret];
    if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new TypeError('secret must be a non-empty string or a non-empty list of non-empty strings');
    }
    this.keys = secrets.map((secret) => ({
      id: keyIdOf(secret),
      key: nodeCrypto().createSecretKey(Buffer.from(secret)),
    }));
    for (const serializer of [...builtInSerializers, ...(options.serializers ?? [])]) {
      if (!NAME.test(serializer.name)) throw new TypeError(`invalid serializer name "${serializer.name}"`);
      this.serializers.set(serializer.name, serializer);
    }
    for (const compressor of [...builtInCompressors, ...(options.compressors ?? [])]) {
      if (!NAME.test(compressor.name)) throw new TypeError(`invalid compressor name "${compressor.name}"`);
      this.compressors.set(compressor.name, compressor);
    }
    const serializer =
      typeof options.serializer === 'object'
        ? options.serializer
        : this.serializers.get(options.serializer ?? 'json');
    if (!serializer) throw new TypeError(`unknown serializer "${String(options.serializer)}"`);
    if (typeof options.serializer === 'object') this.serializers.set(serializer.name, serializer);
    this.serializer = serializer;
    const compressorName =
      options.compress === true ? defaultCompressorName : options.compress ? options.compress : 'none';
    const compressor = this.compressors.get(compressorName);
    if (!compressor) throw new TypeError(`unknown compressor "${compressorName}"`);
    this.compressor = compressor;
    this.compressMinBytes = options.compressMinBytes ?? 1024;
    this.maxDecompressedBytes = options.maxDecompressedBytes ?? MAX_DECOMPRESSED_BYTES;
  }

  /** Serialize, maybe compress, and sign `value`. */
  encode(value: unknown): Uint8Array {
    const serialized = this.serializer.serialize(value);
    let compressor = noCompression;
    let payload = serialized;
    if (this.compressor !== noCompression && serialized.byteLength >= this.compressMinBytes) {
      const compressed = this.compressor.compress(serialized);
      // Incompressible data (already-compressed bytes) goes out as it is.
      if (compressed.byteLength < serialized.byteLength) {
        payload = compressed;
        compressor = this.compressor;
      }
    }
    const signing = this.keys[0]!;
    const header = this.header(this.serializer.name, compressor.name, signing.id);
    const unsignedLength = 2 + header.byteLength + 4 + payload.byteLength;
    const frame = Buffer.allocUnsafe(unsignedLength + SIGNATURE_BYTES);
    frame[0] = FORMAT_VERSION;
    frame[1] = header.byteLength;
    frame.set(header, 2);
    frame.writeUInt32BE(payload.byteLength, 2 + header.byteLength);
    frame.set(payload, 2 + header.byteLength + 4);
    const signature = nodeCrypto()
      .createHmac('sha256', signing.key)
      .update(frame.subarray(0, unsignedLength))
      .digest();
    frame.set(signature, unsignedLength);
    return frame;
  }

  /** Verify and decode a frame. Throws PackageRejectedError naming the first thing that is wrong. */
  decode(bytes: Uint8Array): unknown {
    const frame = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (frame.byteLength < 2) throw reject('truncated', `frame of ${frame.byteLength} bytes is too short`);
    if (frame[0] !== FORMAT_VERSION) {
      throw reject(
        'unknown-format-version',
        `format version ${frame[0]} is not supported (this build reads ${FORMAT_VERSION})`,
      );
    }
    const headerLength = frame[1]!;
    const fixedLength = 2 + headerLength + 4;
    if (frame.byteLength < fixedLength + SIGNATURE_BYTES) {
      throw reject('truncated', `frame of ${frame.byteLength} bytes ends inside its header`);
    }
    const payloadLength = frame.readUInt32BE(2 + headerLength);
    const expectedLength = fixedLength + payloadLength + SIGNATURE_BYTES;
    if (frame.byteLength < expectedLength) {
      throw reject('truncated', `frame is ${frame.byteLength} bytes but declares ${expectedLength}`);
    }
    if (frame.byteLength > expectedLength) {
      throw reject(
        'invalid-package',
        `frame has ${frame.byteLength - expectedLength} unexpected trailing bytes`,
      );
    }
    const header = frame.toString('latin1', 2, 2 + headerLength).split('|');
    if (header.length !== 3) throw reject('invalid-package', 'frame header is malformed');
    const [serializerName, compressorName, keyId] = header as [string, string, string];

    const unsignedLength = fixedLength + payloadLength;
    const key = this.keys.find((k) => k.id === keyId);
    if (!key)
      throw reject('unknown-key', `signed with key id ${JSON.stringify(keyId)}, which is not configured`);
    const crypto = nodeCrypto();
    const expected = crypto.createHmac('sha256', key.key).update(frame.subarray(0, unsignedLength)).digest();
    if (!crypto.timingSafeEqual(expected, frame.subarray(unsignedLength))) {
      throw reject(
        'bad-signature',
        'the signature does not match: the package was altered or signed with another secret',
      );
    }

    const serializer = this.serializers.get(serializerName);
    if (!serializer)
      throw reject('unknown-serializer', `serializer ${JSON.stringify(serializerName)} is not registered`);
    const compressor = this.compressors.get(compressorName);
    if (!compressor)
      throw reject('unknown-compressor', `compressor ${JSON.stringify(compressorName)} is not registered`);

    let payload: Uint8Array = frame.subarray(fixedLength, unsignedLength);
    try {
      payload = compressor.decompress(payload, this.maxDecompressedBytes);
    } catch (error) {
      throw reject(
        'malformed-payload',
        `payload does not decompress with ${compressorName}: ${(error as Error).message}`,
        error,
      );
    }
    if (payload.byteLength > this.maxDecompressedBytes) {
      throw reject(
        'malformed-payload',
        `payload decompresses to more than ${this.maxDecompressedBytes} bytes`,
      );
    }
    try {
      return serializer.deserialize(payload);
    } catch (error) {
      if (error instanceof PackageRejectedError) throw error;
      throw reject('malformed-payload', `payload does not deserialize: ${(error as Error).message}`, error);
    }
  }

  private header(serializer: string, compressor: string, keyId: string): Uint8Array {
    const text = `${serializer}|${compressor}|${keyId}`;
    let cached = this.headerCache.get(text);
    if (!cached) {
      cached = Buffer.from(text, 'latin1');
      this.headerCache.set(text, cached);
    }
    return cached;
  }
}

function reject(
  reason: ConstructorParameters<typeof PackageRejectedError>[0],
  message: string,
  cause?: unknown,
): PackageRejectedError {
  return new PackageRejectedError(reason, message, cause === undefined ? undefined : { cause });
}
