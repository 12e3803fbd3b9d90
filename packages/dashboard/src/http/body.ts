/**
 * Reading an action's fields: a URL-encoded form (what the pages post) or a JSON object (scripts), at
 * most `limit` bytes. Mounted behind a framework that already parsed the body (Express with
 * `express.urlencoded()` before the mount), its `req.body` is used instead.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';

export const DEFAULT_BODY_LIMIT = 16 * 1024;

/**
 * A field sent more than once (checkboxes of one name) or as a JSON array of strings holds its values
 * joined by a line break: no value a form field takes here (job ids, names) contains one.
 */
export type Fields = Record<string, string>;

const LIST_SEPARATOR = '\n';

/** Every value of a field that may repeat (`id` of the selected rows); none when it is absent. */
export function fieldList(fields: Fields, key: string): string[] {
  const value = fields[key];
  if (value === undefined || value === '') return [];
  return value.split(LIST_SEPARATOR).filter((item) => item !== '');
}

export async function readFields(req: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Fields> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object' && !Buffer.isBuffer(parsed))
    return fieldsOf(parsed as Record<string, unknown>);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit)
    throw new HttpError(413, `the request body is larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `the request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new HttpError(400, `the request body is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new HttpError(400, 'the request body must be a JSON object');
    return fieldsOf(value as Record<string, unknown>);
  }
  if (type === 'application/x-www-form-urlencoded' || type === '') {
    const fields: Fields = {};
    for (const [key, value] of new URLSearchParams(text))
      fields[key] = key in fields ? `${fields[key]}${LIST_SEPARATOR}${value}` : value;
    return fields;
  }
  throw new HttpError(
    415,
    `unsupported content type "${type}": send application/x-www-form-urlencoded or application/json`,
  );
}

function fieldsOf(value: Record<string, unknown>): Fields {
  const fields: Fields = {};
  for (const [key, field] of Object.entries(value)) {
    if (typeof field === 'string') fields[key] = field;
    else if (typeof field === 'number' || typeof field === 'boolean') fields[key] = String(field);
    else if (Array.isArray(field) && field.every((item) => typeof item === 'string'))
      fields[key] = field.join(LIST_SEPARATOR);
    else if (field !== undefined && field !== null)
      throw new HttpError(400, `field "${key}" must be a string, number, boolean or list of strings`);
  }
  return fields;
}
