/**
 * How stored values (a result, the arguments, an error, a schedule's args and options) become text in a
 * column: core's stored-value codec, so Date, BigInt, Map, Set and bytes survive, and nothing is
 * evaluated when read back. Text rather than PostgreSQL jsonb, which has no BigInt and would reorder keys.
 */
import { decodeStoredValue, encodeStoredValue } from '@tasq/core/backend';

/** Encode a value for a text column; `undefined` stays SQL NULL. */
export function encodeStored(value: unknown): string | null {
  return value === undefined ? null : encodeStoredValue(value);
}

/** Decode a text column; SQL NULL is `undefined`. Throws `PackageRejectedError` for unsafe or broken text. */
export function decodeStored(text: unknown): unknown {
  return text === null || text === undefined ? undefined : decodeStoredValue(String(text));
}
