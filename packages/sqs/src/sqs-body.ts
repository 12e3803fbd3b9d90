/**
 * How a binary package travels as an SQS message, and what that costs against SQS's size limit.
 *
 * SQS message bodies are text restricted to a set of Unicode characters (#x9, #xA, #xD, #x20–#xD7FF,
 * #xE000–#xFFFD), so a package body (arbitrary bytes) is sent base64-encoded: standard alphabet, with
 * padding. Base64 grows a body by 4/3: n bytes become 4·⌈n/3⌉ characters. SQS also refuses an empty
 * body, and base64 of nothing is empty, so the empty package travels as a lone "=", which decodes back
 * to zero bytes. SQS counts a message as its body's UTF-8 bytes plus, per message attribute, the bytes
 * of its name, data type and value; the same limit applies to the sum over one SendMessageBatch.
 */

/** SQS's message (and batch) size limit since August 2025: 1 MiB. */
export const SQS_DEFAULT_MESSAGE_BYTES = 1_048_576;
/** The smallest MaximumMessageSize SQS accepts for a queue. */
export const SQS_MIN_MESSAGE_BYTES = 1024;
/**
 * Bytes of every message kept free for the attributes `deadLetter` adds (reason, source queue, delivery
 * count, time), so that any package that could be enqueued can also be dead-lettered with its reason.
 * The fixed attributes take at most 186 bytes; the reason gets the rest (838 bytes or more; longer
 * reasons are cut).
 */
export const DEAD_LETTER_HEADROOM_BYTES = 1024;
/** The encoded form of the empty package. */
const EMPTY_BODY = '=';

/** Most packages in one SendMessageBatch or DeleteMessageBatch: an SQS limit. */
export const SQS_MAX_BATCH_ENTRIES = 10;

export function encodeBody(body: Uint8Array): string {
  if (body.byteLength === 0) return EMPTY_BODY;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64');
}

/**
 * Decode a message body. Foreign text that is not base64 decodes to some bytes without throwing; the
 * package codec then refuses it (bad signature) and the runtime dead-letters it, so nothing crashes.
 */
export function decodeBody(text: string): Uint8Array {
  const decoded = Buffer.from(text, 'base64');
  // Copy out of Node's shared Buffer pool, so body.buffer holds this body alone.
  return new Uint8Array(decoded);
}

/** Size SQS counts for the encoded form of a body of `byteLength` bytes (no attributes). */
export function encodedBodyBytes(byteLength: number): number {
  return byteLength === 0 ? EMPTY_BODY.length : 4 * Math.ceil(byteLength / 3);
}

/**
 * The largest package (raw bytes) that fits a message limit of `messageBytes` once encoded, with the
 * dead-letter headroom kept free: 3·⌊(limit − headroom)/4⌋. For 1 MiB that is 785,664 bytes; for
 * 256 KiB, 195,840 bytes.
 */
export function largestPackageBytes(messageBytes: number): number {
  return 3 * Math.floor((messageBytes - DEAD_LETTER_HEADROOM_BYTES) / 4);
}

/** A message attribute as SQS counts it. */
export interface AttributeForSize {
  DataType?: string | undefined;
  StringValue?: string | undefined;
}

/** Bytes SQS counts for message attributes: name + data type + value, each as UTF-8. */
export function attributeBytes(attributes: Record<string, AttributeForSize>): number {
  let total = 0;
  for (const [name, attribute] of Object.entries(attributes)) {
    total += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(attribute.DataType ?? '', 'utf8');
    if (attribute.StringValue !== undefined) total += Buffer.byteLength(attribute.StringValue, 'utf8');
  }
  return total;
}

/**
 * Split encoded messages (given by their sizes) into SendMessageBatch chunks: at most 10 entries, and
 * at most `batchBytes` in total (SQS applies the message limit to a whole batch as well). Returns the
 * index ranges [start, end) in order. Each size must already be within `batchBytes`.
 */
export function chunkForBatches(sizes: readonly number[], batchBytes: number): Array<[number, number]> {
  const chunks: Array<[number, number]> = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < sizes.length; i++) {
    const size = sizes[i]!;
    if (i > start && (i - start === SQS_MAX_BATCH_ENTRIES || bytes + size > batchBytes)) {
      chunks.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
  if (sizes.length > start) chunks.push([start, sizes.length]);
  return chunks;
}

// Characters SQS refuses in a body or a String attribute value.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters SQS forbids
const FORBIDDEN_CHARACTERS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * Make free text (a dead-letter reason) safe for a String attribute within `maxBytes` UTF-8 bytes:
 * forbidden characters become U+FFFD, and a too long text is cut at a character boundary with "…".
 */
export function attributeText(text: string, maxBytes: number): string {
  const clean = text.replace(FORBIDDEN_CHARACTERS, '\uFFFD');
  if (Buffer.byteLength(clean, 'utf8') <= maxBytes) return clean;
  const ellipsis = '…';
  const room = maxBytes - Buffer.byteLength(ellipsis, 'utf8');
  if (room <= 0) return '';
  let bytes = 0;
  let cut = '';
  for (const character of clean) {
    const size = Buffer.byteLength(character, 'utf8');
    if (bytes + size > room) break;
    bytes += size;
    cut += character;
  }
  return cut + ellipsis;
}
