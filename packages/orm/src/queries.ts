/**
 * Loads the SQL files of `queries/<dialect>/` once per table naming: includes `{{> fragment}}` files,
 * substitutes the `{{table}}` placeholders with validated, quoted identifiers and turns `$name`
 * parameters into what the driver binds (`$1, $2…` for pg; named `$name` stays for node:sqlite). Values
 * are always bound, never interpolated; only identifiers checked by `TableNames` are put into the text.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-files.js';
import type { TableNames } from './table-names.js';

export type DialectKind = 'postgres' | 'sqlite';

export type QueryName =
  | 'enqueue'
  | 'reserve'
  | 'ack'
  | 'ack-many'
  | 'release'
  | 'release-many'
  | 'dead-letter'
  | 'extend'
  | 'size'
  | 'purge'
  | 'next-visible'
  | 'result-save'
  | 'result-get'
  | 'result-group'
  | 'result-list'
  | 'result-prune'
  | 'result-expire'
  | 'claim-once'
  | 'release-claim'
  | 'schedule-save'
  | 'schedule-get'
  | 'schedule-list'
  | 'schedule-remove'
  | 'schedule-due'
  | 'schedule-record-run'
  | 'leadership-acquire'
  | 'leadership-release'
  | 'publish'
  | 'messages-since'
  | 'messages-latest'
  | 'messages-prune'
  | 'admin-find'
  | 'admin-list'
  | 'admin-list-dead'
  | 'admin-requeue-dead'
  | 'admin-delete-dead'
  | 'admin-purge-dead'
  | 'admin-trim-dead-age'
  | 'admin-trim-dead-count'
  | 'admin-remove'
  | 'admin-set-paused'
  | 'admin-paused-queues'
  | 'admin-mark-cancelled'
  | 'admin-cancel-marks'
  | 'admin-clear-cancel-marks'
  | 'result-delete'
  | 'result-delete-group'
  | 'progress-save'
  | 'progress-get'
  | 'progress-delete'
  | 'progress-expire';

export interface LoadedQuery {
  readonly name: QueryName;
  /** Statement text as the driver receives it. */
  readonly text: string;
  /** Parameter names in binding order (pg: `$1` is `parameters[0]`). */
  readonly parameters: readonly string[];
}

const parameterPattern = /\$([a-z_][a-z0-9_]*)/g;
const placeholderPattern = /\{\{([a-z_]+)\}\}/g;
const fragmentPattern = /\{\{> ([a-z-]+)\}\}/g;

/** Strip whole-line `--` comments (the headers), so parameter names in prose are not mistaken for parameters. */
function withoutCommentLines(sql: string): string {
  return sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .trim();
}

/** Replace `{{packages}}`-style placeholders with the configured identifiers. */
export function substituteIdentifiers(sql: string, names: TableNames): string {
  return sql.replace(placeholderPattern, (_match, placeholder: string) => names.identifier(placeholder));
}

/**
 * Put each `{{> name}}` of a query in place: the text of `queries/<dialect>/fragments/<name>.sql`, for SQL
 * several statements share (the select list of the result reads, the test that a result is not held).
 * A fragment may include others.
 */
function withFragments(sql: string, dialect: DialectKind): string {
  return sql.replace(fragmentPattern, (_match, fragment: string) => {
    const file = path.join(packageRoot, 'queries', dialect, 'fragments', `${fragment}.sql`);
    return withFragments(withoutCommentLines(readFileSync(file, 'utf8')), dialect);
  });
}

/** Read, substitute and parameterise one query file. */
export function loadQuery(dialect: DialectKind, name: QueryName, names: TableNames): LoadedQuery {
  const file = path.join(packageRoot, 'queries', dialect, `${name}.sql`);
  const sql = withFragments(withoutCommentLines(readFileSync(file, 'utf8')), dialect);
  const source = substituteIdentifiers(sql, names);
  const parameters: string[] = [];
  if (dialect === 'postgres') {
    const text = source.replace(parameterPattern, (_match, parameter: string) => {
      let position = parameters.indexOf(parameter);
      if (position === -1) position = parameters.push(parameter) - 1;
      return `$${position + 1}`;
    });
    return { name, text, parameters };
  }
  for (const match of source.matchAll(parameterPattern)) {
    const parameter = match[1]!;
    if (!parameters.includes(parameter)) parameters.push(parameter);
  }
  return { name, text: source, parameters };
}

/** A cache of loaded queries for one dialect and naming. */
export class QueryCatalog {
  private readonly loaded = new Map<QueryName, LoadedQuery>();
  constructor(
    readonly dialect: DialectKind,
    readonly names: TableNames,
  ) {}

  get(name: QueryName): LoadedQuery {
    let query = this.loaded.get(name);
    if (!query) {
      query = loadQuery(this.dialect, name, this.names);
      this.loaded.set(name, query);
    }
    return query;
  }
}
