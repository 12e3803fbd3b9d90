/**
 * Job arguments and results may hold personal data or secrets, so by default a page shows only their
 * type and size ("object, 312 B"); the values themselves only where `dashboard.showPayloads` is set.
 */

export interface PayloadSummary {
  /** array, object, string, number, boolean, null. */
  type: string;
  /** Size as JSON, in bytes. */
  bytes: number;
}

export interface ShownPayload extends PayloadSummary {
  /** The value as indented JSON (only with showPayloads). */
  json?: string;
}

/** Longest JSON text shown on a page; beyond it the text is cut (the size says how much there is). */
const MAX_SHOWN = 64 * 1024;

export function describePayload(value: unknown, show: boolean): ShownPayload {
  const json = toJson(value);
  const summary = { type: typeName(value), bytes: Buffer.byteLength(json) };
  if (!show) return summary;
  const pretty = toJson(value, 2);
  return {
    ...summary,
    json:
      pretty.length > MAX_SHOWN
        ? `${pretty.slice(0, MAX_SHOWN)}\n… (cut: ${summary.bytes} B in all)`
        : pretty,
  };
}

export function summaryText(payload: PayloadSummary): string {
  return `${payload.type}, ${formatSize(payload.bytes)}`;
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `array of ${value.length}`;
  if (value instanceof Date) return 'date';
  return typeof value;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/** JSON that does not throw on what the task serializer allows beyond JSON (BigInt, Map, Set). */
function toJson(value: unknown, indent?: number): string {
  return (
    JSON.stringify(
      value ?? null,
      (_key, item: unknown) =>
        typeof item === 'bigint'
          ? `${item}n`
          : item instanceof Map
            ? Object.fromEntries(item)
            : item instanceof Set
              ? [...item]
              : item,
      indent,
    ) ?? 'null'
  );
}
