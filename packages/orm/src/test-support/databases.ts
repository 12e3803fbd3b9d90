/**
 * Test databases: the real PostgreSQL server (database `test`, one schema per test run, dropped at the
 * end) and real SQLite files in a temporary folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { requireService } from '@tasq/testing';
import pg from 'pg';

export const postgresUrl = process.env.TASQ_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Undefined when PostgreSQL answers; a skip reason otherwise (an error under CI). */
export function requirePostgres(): Promise<string | undefined> {
  return requireService(`PostgreSQL at ${postgresUrl.replace(/\/\/[^@/]*@/, '//')}`, async () => {
    const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
    await client.connect();
    try {
      await client.query('SELECT 1');
    } finally {
      await client.end();
    }
  });
}

/** A schema name no other run uses. */
export function uniqueSchema(label: string): string {
  return `tasq_${label}_${randomBytes(4).toString('hex')}`;
}

/** Run `work` on a connection of its own to the test database, outside tasq; the connection is closed after. */
export async function withPostgresClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Drop a schema this run created (never anyone else's: the name is this run's own). */
export async function dropSchema(schema: string): Promise<void> {
  await withPostgresClient((client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/**
 * A conformance namespace ("results-1a2b3c4d5e") as a short table prefix ("n1a2b3c4d5e_"): short enough
 * for a deployment's part to follow it within PostgreSQL's name length.
 */
export function prefixFor(namespace: string): string {
  return `n${namespace
    .toLowerCase()
    .split('-')
    .pop()!
    .replace(/[^a-z0-9_]/g, '_')}_`;
}

/** A temporary folder for SQLite files, and its removal. */
export function temporaryFolder(label: string): {
  folder: string;
  file(name: string): string;
  remove(): void;
} {
  const folder = mkdtempSync(path.join(tmpdir(), `tasq-orm-${label}-`));
  return {
    folder,
    file: (name) => path.join(folder, name),
    remove: () => rmSync(folder, { recursive: true, force: true }),
  };
}
