import { randomFillSync } from 'node:crypto';

const random = new Uint8Array(10);
let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made in one process are
 * strictly increasing, even within one millisecond (a 12-bit counter in `rand_a`), so sorting by id is
 * sorting by creation time, which result listings and paging rely on.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else {
    counter++;
    if (counter > 0xfff) {
      // 4096 ids in one millisecond: borrow the next millisecond rather than break the order.
      lastMs++;
      counter = 0;
    }
  }
  randomFillSync(random);
  const ms = lastMs.toString(16).padStart(12, '0');
  const randA = (0x7000 | counter).toString(16);
  const randB = ((random[0]! & 0x3f) | 0x80).toString(16).padStart(2, '0') + hex(random, 1, 8);
  return `${ms.slice(0, 8)}-${ms.slice(8)}-${randA}-${randB.slice(0, 4)}-${randB.slice(4, 16)}`;
}

function hex(bytes: Uint8Array, from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += bytes[i]!.toString(16).padStart(2, '0');
  return out;
}

/** The creation time encoded in a UUIDv7. */
export function uuidv7Time(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
