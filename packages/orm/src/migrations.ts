/**
 * The numbered migration files of `migrations/<dialect>/NNNN_name.sql`, read once. Each dialect applies
 * them under its own lock (a PostgreSQL advisory lock, SQLite's write lock) and records them in the
 * `migrations` table, so several processes starting at once apply each file exactly once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-files.js';
import type { DialectKind } from './queries.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** The file's text with `{{placeholders}}` still in it. */
  readonly source: string;
}

const migrationFilePattern = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function readMigrations(dialect: DialectKind): Migration[] {
  const folder = path.join(packageRoot, 'migrations', dialect);
  const migrations = readdirSync(folder)
    .map((file) => ({ file, match: migrationFilePattern.exec(file) }))
    .filter((entry): entry is { file: string; match: RegExpExecArray } => entry.match !== null)
    .map(({ file, match }) => ({
      version: Number(match[1]),
      name: match[2]!,
      source: readFileSync(path.join(folder, file), 'utf8'),
    }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migrations/${dialect}: expected version ${index + 1}, found ${migration.version}`);
    }
  });
  return migrations;
}

/** The newest schema version this code knows for `dialect`. */
export function knownSchemaVersion(dialect: DialectKind): number {
  return readMigrations(dialect).length;
}
