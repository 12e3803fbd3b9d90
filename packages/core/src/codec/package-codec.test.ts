import zlib, { deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PackageRejectedError } from '../errors.js';
import type { TaskPackage } from '../task-package.js';
import { TaskPackageCodec } from '../task-package.js';
import { type Compressor, nodeHasZstd } from './compressors.js';
import { decodeJsonValue, encodeJsonValue } from './json-value.js';
import { FrameCodec } from './package-codec.js';
import type { Serializer } from './serializers.js';

const pkg: TaskPackage = {
  id: '01890000-0000-7000-8000-000000000001',
  name: 'math.add',
  args: [1, 2],
  queue: 'default',
  enqueuedAt: 1_700_000_000_000,
};

function rejection(fn: () => unknown): PackageRejectedError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PackageRejectedError);
    return error as PackageRejectedError;
  }
  throw new Error('expected the package to be rejected');
}

describe('task package codec', () => {
  it('round-trips a package with the json and msgpack serializers', () => {
    for (const serializer of ['json', 'msgpack']) {
      const codec = new TaskPackageCodec({ secret: 's3cret', serializer });
      const rich = {
        ...pkg,
        args: [new Date(5), 10n, new Map([[1, 'x']]), new Set(['a']), new Uint8Array([0, 255])],
      };
      expect(codec.decode(codec.encode(rich))).toEqual(rich);
    }
  });

  it('rejects a package whose bytes were altered, naming the signature', () => {
    const codec = new TaskPackageCodec({ secret: 's3cret' });
    const frame = Buffer.from(codec.encode(pkg));
    frame[frame.length - 40] = frame[frame.length - 40]! ^ 0x01;
    const error = rejection(() => codec.decode(frame));
    expect(error.reason).toBe('bad-signature');
    expect(error.message).toContain('signature');
  });

  it('rejects a package signed with another secret', () => {
    const producer = new TaskPackageCodec({ secret: 'other' });
    const consumer = new TaskPackageCodec({ secret: 's3cret' });
    expect(rejection(() => consumer.decode(producer.encode(pkg))).reason).toBe('unknown-key');
  });

  it('rejects a forged signature under the right key id', () => {
    const codec = new TaskPackageCodec({ secret: 's3cret' });
    const frame = Buffer.from(codec.encode(pkg));
    frame.fill(0, frame.length - 32);
    expect(rejection(() => codec.decode(frame)).reason).toBe('bad-signature');
  });

  it('rejects truncated frames at every length', () => {
    const codec = new TaskPackageCodec({ secret: 's3cret' });
    const frame = codec.encode(pkg);
    for (const length of [0, 1, 5, 20, frame.length - 33, frame.length - 1]) {
      const error = rejection(() => codec.decode(frame.subarray(0, length)));
      expect(error.reason).toBe('truncated');
    }
  });

  it('rejects an unknown format version and trailing bytes', () => {
    const codec = new TaskPackageCodec({ secret: 's3cret' });
    const frame = Buffer.from(codec.encode(pkg));
    frame[0] = 9;
    const error = rejection(() => codec.decode(frame));
    expect(error.reason).toBe('unknown-format-version');
    expect(error.message).toContain('9');
    const padded = Buffer.concat([codec.encode(pkg), Buffer.from([0])]);
    expect(rejection(() => codec.decode(padded)).reason).toBe('invalid-package');
  });

  it('rejects an unknown serializer and an unknown compressor, after checking the signature', () => {
    const custom: Serializer = {
      name: 'custom',
      serialize: (v) => Buffer.from(JSON.stringify(v)),
      deserialize: (b) => JSON.parse(Buffer.from(b).toString()),
    };
    const reversing: Compressor = {
      name: 'squeeze',
      compress: (b) => deflateRawSync(b),
      decompress: (b, maxBytes) => inflateRawSync(b, { maxOutputLength: maxBytes }),
    };
    const producer = new FrameCodec({
      secret: 's3cret',
      serializer: custom,
      compressors: [reversing],
      compress: 'squeeze',
      compressMinBytes: 0,
    });
    const consumer = new FrameCodec({ secret: 's3cret', serializers: [custom] });
    const large = { ...pkg, args: ['y'.repeat(5000)] };
    expect(rejection(() => consumer.decode(producer.encode(large))).reason).toBe('unknown-compressor');
    const plainProducer = new FrameCodec({ secret: 's3cret', serializer: custom });
    const error = rejection(() => new FrameCodec({ secret: 's3cret' }).decode(plainProducer.encode(pkg)));
    expect(error.reason).toBe('unknown-serializer');
    expect(error.message).toContain('custom');
    // With both registered, the same frames decode.
    const full = new FrameCodec({ secret: 's3cret', serializers: [custom], compressors: [reversing] });
    expect(full.decode(producer.encode(large))).toEqual(large);
  });

  it('refuses prototype pollution and never returns a polluted object', () => {
    const custom: Serializer = {
      name: 'raw',
      serialize: (v) => Buffer.from(v as string),
      deserialize: (b) => b,
    };
    // Frames labelled json whose payload text we choose, signed with the right secret: only the JSON
    // decoding rules stand between this payload and the consumer.
    const signer = new FrameCodec({ secret: 's3cret', serializer: { ...custom, name: 'json' } });
    const consumer = new TaskPackageCodec({ secret: 's3cret' });
    for (const text of [
      '{"id":"x","name":"t","args":[],"queue":"q","enqueuedAt":1,"__proto__":{"polluted":true}}',
      '{"id":"x","name":"t","args":[{"constructor":{"prototype":{"polluted":true}}}],"queue":"q","enqueuedAt":1}',
      // The same keys spelled with JSON escapes, deep inside arrays, or hidden in tagged values.
      '{"id":"x","name":"t","args":[[[{"\\u005f_proto__":{"polluted":true}}]]],"queue":"q","enqueuedAt":1}',
      '{"id":"x","name":"t","args":[{"$tasq":"object","v":[["__proto__",{"polluted":true}]]}],"queue":"q","enqueuedAt":1}',
      '{"id":"x","name":"t","args":[{"constructor":{"$tasq":"object","v":[["prototype",{}]]}}],"queue":"q","enqueuedAt":1}',
      '{"id":"x","name":"t","args":[{"$tasq":"map","v":[["k",{"__proto__":{"polluted":true}}]]}],"queue":"q","enqueuedAt":1}',
    ]) {
      const error = rejection(() => consumer.decode(signer.encode(text)));
      expect(error.reason).toBe('forbidden-key');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a signed payload that is not a task package', () => {
    const frames = new FrameCodec({ secret: 's3cret' });
    const codec = new TaskPackageCodec({ secret: 's3cret' });
    expect(rejection(() => codec.decode(frames.encode([1, 2]))).reason).toBe('invalid-package');
    const error = rejection(() =>
      codec.decode(frames.encode({ id: 'x', args: [], queue: 'q', enqueuedAt: 1 })),
    );
    expect(error.message).toContain('name');
  });

  it('accepts packages signed with an older key during rotation, and signs with the newest', () => {
    const old = new TaskPackageCodec({ secret: 'old-key' });
    const rotated = new TaskPackageCodec({ secret: ['new-key', 'old-key'] });
    const newOnly = new TaskPackageCodec({ secret: 'new-key' });
    expect(rotated.decode(old.encode(pkg))).toEqual(pkg);
    expect(newOnly.decode(rotated.encode(pkg))).toEqual(pkg);
    expect(rejection(() => newOnly.decode(old.encode(pkg))).reason).toBe('unknown-key');
  });

  it('compresses large packages only, and only when it saves bytes', () => {
    const plain = new TaskPackageCodec({ secret: 's' });
    // zstd where this Node has it (this workspace runs Node 24, which does).
    const names = ['gzip', 'deflate', 'brotli', ...(nodeHasZstd() ? ['zstd'] : []), true] as const;
    for (const compress of names) {
      const codec = new TaskPackageCodec({ secret: 's', compress });
      const big = { ...pkg, args: ['x'.repeat(50_000)] };
      const encoded = codec.encode(big);
      expect(encoded.byteLength).toBeLessThan(plain.encode(big).byteLength / 10);
      expect(codec.decode(encoded)).toEqual(big);
      expect(codec.encode(pkg).byteLength).toBe(plain.encode(pkg).byteLength);
    }
  });

  it('tells a Node with zstd from its version', () => {
    expect(['22.13.1', '22.14.0', '23.7.0'].map((version) => nodeHasZstd(version))).toEqual([
      false,
      false,
      false,
    ]);
    expect(['22.15.0', '23.8.0', '24.0.0', '25.1.0'].map((version) => nodeHasZstd(version))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(nodeHasZstd()).toBe(
      typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === 'function',
    );
  });

  it('refuses a payload that would decompress beyond the limit', () => {
    const limit = 1024 * 1024;
    const codec = new TaskPackageCodec({ secret: 's', compress: 'gzip', maxDecompressedBytes: limit });
    const bomb = { ...pkg, args: ['a'.repeat(8 * limit)] };
    const frame = codec.encode(bomb);
    expect(frame.byteLength).toBeLessThan(limit / 10);
    const error = rejection(() => codec.decode(frame));
    expect(error.reason).toBe('malformed-payload');
    // Just under the limit still decodes.
    const fits = { ...pkg, args: ['a'.repeat(limit - 1000)] };
    expect(codec.decode(codec.encode(fits))).toEqual(fits);
  });
});

/** A small seeded generator: the same seed gives the same values, so a failure can be reproduced. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 8 : 13));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.floor((next() - 0.5) * 2 ** 40);
    case 3:
      return (next() - 0.5) * 1e6;
    case 4:
      return Array.from({ length: Math.floor(next() * 12) }, () =>
        String.fromCodePoint(Math.floor(next() * 0x2fff)),
      ).join('');
    case 5:
      return new Date(Math.floor(next() * 4e12));
    case 6:
      return BigInt(Math.floor((next() - 0.5) * 2 ** 52)) * 1_000_003n;
    case 7:
      return Uint8Array.from({ length: Math.floor(next() * 20) }, () => Math.floor(next() * 256));
    case 8:
      return Array.from({ length: Math.floor(next() * 5) }, () => randomValue(next, depth + 1));
    case 9: {
      const object: Record<string, unknown> = {};
      for (let i = 0; i < next() * 5; i++)
        object[next() < 0.1 ? '$tasq' : `k${Math.floor(next() * 100)}`] = randomValue(next, depth + 1);
      return object;
    }
    case 10:
      return new Map(
        Array.from({ length: Math.floor(next() * 4) }, () => [
          randomValue(next, depth + 1),
          randomValue(next, depth + 1),
        ]),
      );
    case 11:
      return new Set(Array.from({ length: Math.floor(next() * 4) }, () => `s${Math.floor(next() * 1000)}`));
    default:
      return [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, undefined][
        Math.floor(next() * 4)
      ];
  }
}

describe('codec round-trip over random values', () => {
  for (const serializer of ['json', 'msgpack']) {
    it(`${serializer}: 500 random argument lists come back equal`, () => {
      const codec = new TaskPackageCodec({ secret: 'k', serializer, compress: 'gzip' });
      const next = random(serializer === 'json' ? 42 : 7);
      for (let i = 0; i < 500; i++) {
        const args = Array.from({ length: 1 + Math.floor(next() * 4) }, () => randomValue(next));
        const value = { ...pkg, args };
        expect(codec.decode(codec.encode(value))).toEqual(value);
      }
    });
  }
});

describe('tagged JSON: plain values take the short path, everything else keeps its shape', () => {
  it('writes plain values as plain JSON and tags or escapes the rest', () => {
    expect(encodeJsonValue({ a: [1, 'two', true, null], b: { c: 1.5 } })).toBe(
      '{"a":[1,"two",true,null],"b":{"c":1.5}}',
    );
    class Money {
      constructor(readonly cents: number) {}
      toJSON() {
        return 'not used';
      }
    }
    const bare = Object.assign(Object.create(null), { x: 1 });
    const cases: [unknown, unknown][] = [
      [
        { a: undefined, n: Number.NaN },
        { a: undefined, n: Number.NaN },
      ],
      [
        [1, undefined, 3],
        [1, undefined, 3],
      ],
      [
        { $tasq: 'date', v: 'not a tag' },
        { $tasq: 'date', v: 'not a tag' },
      ],
      [new Money(250), { cents: 250 }],
      [bare, { x: 1 }],
      [
        { when: new Date(0), big: 10n },
        { when: new Date(0), big: 10n },
      ],
    ];
    for (const [input, expected] of cases) {
      expect(decodeJsonValue(encodeJsonValue(input))).toStrictEqual(expected);
    }
    // Text another encoder wrote may spell a tag with JSON escapes: it decodes as the tag all the same,
    // and plain text decodes to exactly what JSON.parse makes of it.
    expect(decodeJsonValue('{"when":{"\\u0024tasq":"date","v":"1970-01-01T00:00:00.000Z"}}')).toStrictEqual({
      when: new Date(0),
    });
    expect(decodeJsonValue('{"a":[1,{"b":"c\\"d"}],"e":null}')).toStrictEqual({
      a: [1, { b: 'c"d' }],
      e: null,
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeJsonValue(cyclic)).toThrow(/circular/);
  });
});
