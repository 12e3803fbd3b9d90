/**
 * The MongoDB server the server-backed tests use: MONGODB_URL, when set. No MongoDB server can be installed
 * on the project's development machines or in its CI, so without MONGODB_URL those tests are reported as
 * skipped with NO_SERVER_REASON, CI included (the one exception to "an unreachable service fails in CI").
 * When MONGODB_URL is set but the server does not answer, `requireService` fails the run under CI=true.
 */
import { randomBytes } from 'node:crypto';
import { withoutPassword } from '@tasq/core/backend';
import { requireService } from '@tasq/testing';
import { MongoClient } from 'mongodb';

export const NO_SERVER_REASON = 'MONGODB_URL is not set; no MongoDB server is available on this machine';

/** The server's connection string, or undefined. */
export const serverUrl: string | undefined = process.env.MONGODB_URL || undefined;

/** Undefined when the server answers; otherwise why the server-backed tests are skipped. */
export async function serverSkipReason(): Promise<string | undefined> {
  if (serverUrl === undefined) return NO_SERVER_REASON;
  return requireService(`MongoDB at ${withoutPassword(serverUrl)}`, async () => {
    const client = new MongoClient(serverUrl, { serverSelectionTimeoutMS: 4000 });
    try {
      await client.db('admin').command({ ping: 1 });
    } finally {
      await client.close();
    }
  });
}

/** A database name of this run's own, so runs sharing a server never see each other's documents. */
export function uniqueDatabaseName(): string {
  return `tasq_test_${randomBytes(4).toString('hex')}`;
}

/** Drop a database this run created. */
export async function dropDatabase(name: string): Promise<void> {
  if (serverUrl === undefined) return;
  const client = new MongoClient(serverUrl);
  try {
    await client.db(name).dropDatabase();
  } finally {
    await client.close();
  }
}
