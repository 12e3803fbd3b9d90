/**
 * An application with its own `Sentry.init()` (its own DSN, tags and user) running the reporter in
 * the same process: each side's events go to its own project, carrying only its own data, and the
 * application's SDK stays the current one. Own file, so the global `Sentry.init` stays in this worker.
 */
import * as Sentry from '@sentry/node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import sentryReporter, { type SentryReporter } from './index.js';
import { type EnvelopeServer, startEnvelopeServer } from './test-support/envelope-server.js';
import { failureReport, recordingLogger } from './test-support/failure.js';

let applicationProject: EnvelopeServer;
let tasqProject: EnvelopeServer;

beforeAll(async () => {
  applicationProject = await startEnvelopeServer('applicationkey');
  tasqProject = await startEnvelopeServer('tasqkey');
});

afterAll(async () => {
  await Sentry.close(2_000);
  await applicationProject.close();
  await tasqProject.close();
});

it('keeps the application and the reporter apart', async () => {
  Sentry.init({ dsn: applicationProject.dsn, environment: 'application-env' });
  Sentry.setTag('checkout_flow', 'v2');
  Sentry.setUser({ email: 'customer@example.org' });
  const applicationClient = Sentry.getClient();

  const reporter = (await sentryReporter.create(
    { dsn: tasqProject.dsn, environment: 'tasq-env', tags: { source: 'tasq' } },
    { logger: recordingLogger() },
  )) as SentryReporter;
  reporter.report(failureReport());
  Sentry.captureException(new RangeError('application failure'));

  await reporter.flush(5_000);
  await Sentry.flush(5_000);

  expect(Sentry.getClient()).toBe(applicationClient);

  const tasqEvents = tasqProject.events();
  expect(tasqEvents).toHaveLength(1);
  expect(tasqProject.envelopes.every((envelope) => envelope.sentryKey === 'tasqkey')).toBe(true);
  expect(tasqEvents[0]).toMatchObject({
    environment: 'tasq-env',
    tags: { task: 'billing.charge', source: 'tasq' },
  });
  expect(tasqEvents[0]?.tags).not.toHaveProperty('checkout_flow');
  expect(tasqEvents[0]).not.toHaveProperty('user');

  const applicationEvents = applicationProject.events();
  expect(applicationEvents).toHaveLength(1);
  expect(applicationEvents[0]).toMatchObject({
    environment: 'application-env',
    tags: { checkout_flow: 'v2' },
    user: { email: 'customer@example.org' },
    exception: { values: [{ type: 'RangeError', value: 'application failure' }] },
  });
  expect(applicationEvents[0]?.tags).not.toHaveProperty('task');
  expect(applicationEvents[0]?.tags).not.toHaveProperty('source');

  await reporter.close(2_000);
});
