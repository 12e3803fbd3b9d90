/**
 * How values tasq does not interpret (results, arguments, errors, schedule options) are stored: as the
 * JSON text of core's stored-value codec, so Date, BigInt, Map, Set and bytes survive, and nothing is
 * evaluated when read back. Kept as strings rather than BSON sub-documents because BSON has no BigInt,
 * Map or Set, and a user's object keys may start with `$` or contain `.`, which BSON field names forbid.
 */
import { decodeStoredValue, encodeStoredValue } from '@tasq/core/backend';

/** Encode a value for storage. Throws TypeError for functions, symbols and cycles. */
export function encodeStored(value: unknown): string {
  return encodeStoredValue(value);
}

/** Decode a value written by {@link encodeStored}. Throws `PackageRejectedError` for unsafe or broken text. */
export function decodeStored(text: string): unknown {
  return decodeStoredValue(text);
}
