/**
 * The configured schema (PostgreSQL) and table prefix, validated once, and the quoted identifiers the
 * SQL files' `{{placeholders}}` stand for. Identifiers cannot be bound as values, so they are checked
 * against a strict pattern instead: lower-case letters, digits and underscores.
 */
import { createHash } from 'node:crypto';
import { deploymentSegment } from '@tasq/core/backend';
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
  'queue_flags',
  'cancel_marks',
  'progress',
] as const;
export type TableName = (typeof tableNames)[number];

function quote(identifier: string): string {
  return `"${identifier}"`;
}

/** Longest deployment part of a table prefix, before its "_": a readable name, or 14 characters of it and a hash. */
const MAX_DEPLOYMENT_SEGMENT = 24;
/** Longest whole prefix: the longest derived name, "<prefix>packages_claim_index", fits PostgreSQL's 63 bytes. */
const MAX_PREFIX = 63 - 'packages_claim_index'.length;

/**
 * The deployment's part of the table prefix: '' for the default deployment (its tables keep the names
 * they always had), else `<name>_`, or a readable part of the name and a hash of it where the name is
 * not a short lower-case identifier (see `deploymentSegment`).
 *
 * Why a table prefix per deployment and not a `deployment` column: every statement, index and query
 * plan stays as it is (the claim is one index range per priority, pinned by the plan tests), no statement
 * can leak across deployments by missing a `WHERE deployment = ...`, the default deployment's rows need
 * no migration (a column in the keys of `packages`, `results` and `claims` would rewrite and re-index the
 * busiest tables on upgrade), each deployment's LISTEN channels and leader locks follow from the prefix,
 * and a deployment that is gone is dropped with its own tables.
 */
export function deploymentPrefix(deployment: string | undefined): string {
  const segment = deploymentSegment(deployment, {
    allowed: /[a-z0-9_]/,
    lowerCaseOnly: true,
    maxLength: MAX_DEPLOYMENT_SEGMENT,
  });
  return segment === '' ? '' : `${segment}_`;
}

export class TableNames {
  /** PostgreSQL schema, or undefined on SQLite. */
  readonly schema: string | undefined;
  /** The whole prefix of every table and index name: the configured one, then the deployment's part. */
  readonly prefix: string;
  /** The deployment (configuration `name`) these tables belong to. */
  readonly deployment: string | undefined;

  /** `prefix` is the configured table prefix; `deployment` adds its own part after it. */
  constructor(options: { schema?: string | undefined; prefix: string; deployment?: string | undefined }) {
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
    this.deployment = options.deployment;
    this.prefix = options.prefix + deploymentPrefix(options.deployment);
    if (this.prefix.length > MAX_PREFIX) {
      throw invalidArgument(
        `tablePrefix "${options.prefix}" and the deployment name "${options.deployment}" make the table prefix ` +
          `"${this.prefix}", longer than ${MAX_PREFIX} characters (PostgreSQL cuts names at 63 bytes): shorten tablePrefix`,
      );
    }
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
