import { describe, expect, it } from 'vitest';
import {
  attributeText,
  chunkForBatches,
  DEAD_LETTER_HEADROOM_BYTES,
  decodeBody,
  encodeBody,
  encodedBodyBytes,
  largestPackageBytes,
} from './sqs-body.js';

describe('package body encoding', () => {
  it('round-trips every length from 0 to 300 bytes, and predicts the encoded size exactly', () => {
    for (let length = 0; length <= 300; length++) {
      const body = Uint8Array.from({ length }, (_, i) => (i * 53 + length) % 256);
      const encoded = encodeBody(body);
      expect(encoded.length).toBeGreaterThan(0);
      expect(Buffer.byteLength(encoded, 'utf8')).toBe(encodedBodyBytes(length));
      expect(Buffer.from(decodeBody(encoded)).equals(Buffer.from(body))).toBe(true);
    }
  });

  it('decodes into a buffer of its own', () => {
    const body = decodeBody(encodeBody(Uint8Array.of(1, 2, 3)));
    expect(body.buffer.byteLength).toBe(3);
  });

  it('puts the largest package exactly at the limit: one byte more does not fit', () => {
    for (const messageBytes of [1024 + DEAD_LETTER_HEADROOM_BYTES, 262_144, 1_048_576, 1_000_003]) {
      const largest = largestPackageBytes(messageBytes);
      expect(encodedBodyBytes(largest) + DEAD_LETTER_HEADROOM_BYTES).toBeLessThanOrEqual(messageBytes);
      expect(encodedBodyBytes(largest + 1) + DEAD_LETTER_HEADROOM_BYTES).toBeGreaterThan(messageBytes);
    }
  });
});

describe('batch chunking', () => {
  it('cuts at 10 entries', () => {
    expect(chunkForBatches(new Array(23).fill(10), 1_000_000)).toEqual([
      [0, 10],
      [10, 20],
      [20, 23],
    ]);
  });

  it('cuts before the total would pass the limit, and keeps an entry of exactly the limit alone', () => {
    expect(chunkForBatches([400, 400, 300, 100, 1000, 1], 1000)).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
      [5, 6],
    ]);
  });

  it('returns nothing for nothing', () => {
    expect(chunkForBatches([], 1000)).toEqual([]);
  });
});

describe('attribute text', () => {
  it('replaces characters SQS refuses and keeps the rest, astral characters included', () => {
    expect(attributeText('a\u0000b\u0007c 😀', 100)).toBe('a\uFFFDb\uFFFDc 😀');
  });

  it('cuts long text at a character boundary within the byte budget', () => {
    const cut = attributeText('é'.repeat(100), 51);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(51);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut.startsWith('éééé')).toBe(true);
  });
});
