/**
 * Several wake-up keys (job ids) in one NOTIFY payload, so a batch of saved results costs one
 * notification instead of one per row. A payload is a JSON array of strings; PostgreSQL refuses a
 * payload of 8,000 bytes or more (in the server encoding, UTF-8 here), so a long list is split into
 * several payloads, each below the limit.
 */

/** The largest payload PostgreSQL accepts: it must be shorter than 8,000 bytes. */
export const maxPayloadBytes = 7_999;

/**
 * The payloads that together carry every key, in order. A key that alone would not fit (an id of
 * about 8,000 bytes) is left out: its waiters find the row at their next poll instead.
 */
export function encodeWakeKeys(keys: readonly string[]): string[] {
  const payloads: string[] = [];
  let current: string[] = [];
  // Bytes of `[` + `]` plus, per key, its JSON text and a comma between keys.
  let currentBytes = 2;
  for (const key of keys) {
    const encoded = JSON.stringify(key);
    const bytes = Buffer.byteLength(encoded, 'utf8');
    if (bytes + 2 > maxPayloadBytes) continue;
    if (current.length > 0 && currentBytes + 1 + bytes > maxPayloadBytes) {
      payloads.push(`[${current.join(',')}]`);
      current = [];
      currentBytes = 2;
    }
    currentBytes += current.length === 0 ? bytes : bytes + 1;
    current.push(encoded);
  }
  if (current.length > 0) payloads.push(`[${current.join(',')}]`);
  return payloads;
}

/**
 * The keys a payload wakes: each element of a JSON array of strings, and always the payload itself, so
 * a plain key (a queue name, a job id notified one at a time) wakes its waiters too. A key that only
 * looks like an array wakes a few waiters more than needed; they re-check and sleep again.
 */
export function decodeWakeKeys(payload: string): string[] {
  if (!payload.startsWith('[')) return [payload];
  try {
    const parsed: unknown = JSON.parse(payload);
    if (Array.isArray(parsed) && parsed.every((key) => typeof key === 'string')) {
      return [payload, ...(parsed as string[])];
    }
  } catch {
    // Not an encoded list: a key that starts with "[".
  }
  return [payload];
}
