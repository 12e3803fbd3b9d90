/**
 * A database that cannot be reached or opened fails with an error that names where it was looked for
 * and why, never the password: a PostgreSQL port nothing listens on, a SQLite path that cannot be a file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { BrokerConnectionError, BrokerError } from '@tasq/core/backend';
import { freePort } from '@tasq/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createOrmBroker, createOrmResultBackend } from './index.js';
import { temporaryFolder } from './test-support/databases.js';

const folder = temporaryFolder('errors');
afterAll(() => folder.remove());

async function failure(open: () => Promise<unknown>): Promise<Error> {
  const error = await open().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  if (process.env.SHOW_ERRORS) console.log((error as Error).message);
  return error as Error;
}

describe('orm connection errors', () => {
  it('PostgreSQL on a closed port: names host, port and "connection refused", not the password', async () => {
    const port = await freePort();
    const error = await failure(() =>
      createOrmBroker({ url: `postgres://tasq:s3cret-pw@127.0.0.1:${port}/test` }),
    );
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect(error.message).toContain(`PostgreSQL at 127.0.0.1:${port}/test`);
    expect(error.message).toContain('connection refused');
    expect(error.message).not.toContain('s3cret-pw');
  });

  it('PostgreSQL by host name on a closed port: the same, though Node reports every address at once', async () => {
    const port = await freePort();
    const error = await failure(() =>
      createOrmResultBackend({ url: `postgresql://tasq:s3cret-pw@localhost:${port}/test` }),
    );
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect(error.message).toContain(`PostgreSQL at localhost:${port}/test`);
    expect(error.message).toContain('connection refused');
    expect(error.message).not.toContain('s3cret-pw');
  });

  it('SQLite under a path that is a file: names the file and the cause', async () => {
    const blocker = folder.file('not-a-folder');
    writeFileSync(blocker, 'x');
    const error = await failure(() => createOrmBroker({ url: `sqlite:${blocker}/tasq.db` }));
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.message).toContain(`SQLite file ${blocker}/tasq.db`);
    expect(error.message).toMatch(/ENOTDIR|EEXIST/);
  });

  it('SQLite on a path that is a folder: names the file and what to check', async () => {
    const directory = folder.file('a-folder');
    mkdirSync(directory);
    const error = await failure(() => createOrmBroker({ url: `sqlite:${directory}` }));
    expect(error).toBeInstanceOf(BrokerError);
    expect(error.message).toContain(`SQLite file ${directory}`);
    expect(error.message).toContain('unable to open database file');
    expect(error.message).toMatch(/check that/);
  });
});
