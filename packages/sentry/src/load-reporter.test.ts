/**
 * The package as the cluster meets it: loaded by name through core's `loadErrorReporter`, resolved
 * from this package's directory (its own built `dist`, as an installed copy would be).
 */
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@tasq/core';
import { loadErrorReporter } from '@tasq/core/internal';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type EnvelopeServer, startEnvelopeServer } from './test-support/envelope-server.js';
import { failureReport, recordingLogger } from './test-support/failure.js';

const packageDirectory = fileURLToPath(new URL('..', import.meta.url));

let server: EnvelopeServer;
beforeEach(async () => {
  server = await startEnvelopeServer();
});
afterEach(async () => {
  await server.close();
});

it('loads @tasq/sentry by name and reports through it', async () => {
  const { reporter, wantsArgs } = await loadErrorReporter(
    { module: '@tasq/sentry', options: { dsn: server.dsn, sendArgs: true } },
    recordingLogger(),
    packageDirectory,
  );
  expect(reporter.name).toBe('sentry');
  expect(wantsArgs).toBe(true);

  reporter.report(failureReport({ args: [{ token: 'abc' }] }));
  await reporter.flush?.(5_000);
  const events = server.events();
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({
    tags: { task: 'billing.charge' },
    extra: { arguments: [{ token: '[redacted]' }] },
  });
  await (reporter as { close?(timeoutMs: number): Promise<void> }).close?.(2_000);
});

it('does not ask for arguments unless sendArgs is true', async () => {
  const { reporter, wantsArgs } = await loadErrorReporter(
    { module: '@tasq/sentry', options: { dsn: server.dsn } },
    recordingLogger(),
    packageDirectory,
  );
  expect(wantsArgs).toBe(false);
  await (reporter as { close?(timeoutMs: number): Promise<void> }).close?.(2_000);
});

it('passes a configuration error through, naming the key', async () => {
  const loading = loadErrorReporter(
    { module: '@tasq/sentry', options: { dsn: 'https://sentry.example.org/1' } },
    recordingLogger(),
    packageDirectory,
  );
  await expect(loading).rejects.toThrow(ConfigError);
  await expect(loading).rejects.toThrow(/errorReporter\.options\.dsn is not a valid DSN \(the public key/);
});
