/**
 * The configured schema (PostgreSQL) and table prefix, validated once, and the quoted identifiers the
 * SQL files' `{{placeholders}}` stand for. Identifiers cannot be bound as values, so they are checked
 * against a strict pattern instead: lower-case letters, digits and underscores.
 */
import { createHash } from 'node:crypto';
import { invalidArgument } from './orm-errors.js';

const identifierPattern = /^[a-z_][a-z0-9_]*$/;

/** The tables of the schema; a placeholder naming one of them becomes a (schema-)qualified table name. */
export const tableNames = [
  'packages',
  'results',
  'claims',
  'schedules',
  'locks',
  'messages',
  'migrations',
] as const;
export type TableName = (typeof tableNames)[number];

function quote(identifier: string): string {
  return `"${identifier}"`;
}

export class TableNames {
  /** PostgreSQL schema, or undefined on SQLite. */
  readonly schema: string | undefined;
  readonly prefix: string;

  constructor(options: { schema?: string | undefined; prefix: string }) {
    if (options.schema !== undefined && !identifierPattern.test(options.schema)) {
      throw invalidArgument(
        `schema "${options.schema}" is not a plain identifier: use lower-case letters, digits and underscores`,
      );
    }
    if (options.prefix !== '' && !identifierPattern.test(options.prefix)) {
      throw invalidArgument(
        `tablePrefix "${options.prefix}" is not a plain identifier: use lower-case letters, digits and underscores`,
      );
    }
    // Room for the longest derived name ("<prefix>packages_claim_index") within PostgreSQL's 63 bytes.
    if (options.prefix.length > 30 || (options.schema?.length ?? 0) > 30) {
      throw invalidArgument('schema and tablePrefix must each be at most 30 characters');
    }
    this.schema = options.schema;
    this.prefix = options.prefix;
  }

  /** The quoted identifier for a placeholder: a table (schema-qualified on PostgreSQL) or an index/schema name. */
  identifier(placeholder: string): string {
    if (placeholder === 'schema') {
      if (this.schema === undefined) throw new Error('{{schema}} used on a dialect without schemas');
      return quote(this.schema);
    }
    const local = quote(this.prefix + placeholder);
    if ((tableNames as readonly string[]).includes(placeholder) && this.schema !== undefined) {
      return `${quote(this.schema)}.${local}`;
    }
    return local;
  }

  /** Where the tables live, for messages ("schema tasq", "tables tasq_*"). */
  describe(): string {
    const tables = `tables ${this.prefix}*`;
    return this.schema === undefined ? tables : `schema "${this.schema}" (${tables})`;
  }

  /**
   * The LISTEN/NOTIFY channel for a topic, unique per schema and prefix: `<schema>.<prefix><topic>`, or,
   * when that exceeds PostgreSQL's 63-byte identifier limit, a hash of it.
   */
  channel(topic: 'packages' | 'results' | 'messages'): string {
    const readable = `${this.schema ?? 'main'}.${this.prefix}${topic}`;
    if (readable.length <= 63) return readable;
    return `tasq.${createHash('sha256').update(readable).digest('hex').slice(0, 32)}.${topic}`;
  }

  /** The NOTIFY channel of pub/sub channel `name`, readable when it fits in 63 bytes, else a hash of it. */
  pubSubChannel(name: string): string {
    const readable = `${this.schema ?? 'main'}.${this.prefix}pubsub.${name}`;
    if (Buffer.byteLength(readable) <= 63) return readable;
    return `tasq.pubsub.${createHash('sha256').update(readable).digest('hex').slice(0, 40)}`;
  }
}
