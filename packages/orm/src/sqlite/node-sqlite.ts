/**
 * node:sqlite, loaded on first use, so PostgreSQL users never load it (nor see its experimental warning).
 * On a Node.js without it, the error says which version is needed and which one is running instead of
 * `No such built-in module: node:sqlite`.
 */
import { BrokerError } from '@tasq/core/backend';
import { isNodeTooOld, nodeVersionMessage } from '@tasq/core/internal';

export async function loadNodeSqlite(): Promise<typeof import('node:sqlite')> {
  try {
    return await import('node:sqlite');
  } catch (error) {
    // Node 22.5 to 22.12 have it behind --experimental-sqlite: only then is the version the whole story.
    if (!isNodeTooOld()) throw error;
    throw new BrokerError(
      `${nodeVersionMessage('SQLite (node:sqlite), the embedded default broker,')}: upgrade Node.js, or configure PostgreSQL or another broker`,
      { cause: error },
    );
  }
}
