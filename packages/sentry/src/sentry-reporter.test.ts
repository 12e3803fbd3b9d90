import * as Sentry from '@sentry/node';
import { ConfigError, type ErrorReporter } from '@tasq/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import sentryReporter, { SentryReporter } from './index.js';
import { type EnvelopeServer, startEnvelopeServer } from './test-support/envelope-server.js';
import { failureReport, recordingLogger } from './test-support/failure.js';

let server: EnvelopeServer;
const reporters: SentryReporter[] = [];

beforeEach(async () => {
  server = await startEnvelopeServer();
});

afterEach(async () => {
  await Promise.all(reporters.splice(0).map((reporter) => reporter.close(2_000)));
  await server.close();
});

async function createReporter(
  options: Record<string, unknown>,
  logger = recordingLogger(),
): Promise<SentryReporter> {
  const reporter = (await sentryReporter.create(
    { dsn: server.dsn, ...options },
    { logger },
  )) as ErrorReporter;
  expect(reporter).toBeInstanceOf(SentryReporter);
  reporters.push(reporter as SentryReporter);
  return reporter as SentryReporter;
}

interface SentEvent {
  level: string;
  environment?: string;
  release?: string;
  transaction?: string;
  fingerprint: string[];
  tags: Record<string, string>;
  extra?: Record<string, unknown>;
  contexts: Record<string, Record<string, unknown>>;
  exception: {
    values: {
      type: string;
      value: string;
      mechanism: { type: string; handled: boolean };
      stacktrace?: { frames: { function?: string; filename?: string; lineno?: number }[] };
    }[];
  };
}

function onlyEvent(): SentEvent {
  const events = server.events();
  expect(events).toHaveLength(1);
  return events[0] as unknown as SentEvent;
}

describe('what reaches Sentry for a failed attempt', () => {
  it('sends the remote error as the exception, with its stack parsed into frames', async () => {
    const reporter = await createReporter({});
    const failure = failureReport();
    reporter.report(failure);
    await reporter.flush(5_000);

    const event = onlyEvent();
    const [exception] = event.exception.values;
    expect(exception?.type).toBe('TypeError');
    expect(exception?.value).toBe('card declined for order 4411');
    expect(exception?.mechanism).toEqual({ type: 'tasq.task', handled: false });
    // Sentry orders frames oldest first: the throwing function is the last one.
    const frames = exception?.stacktrace?.frames ?? [];
    expect(frames.at(-1)?.function).toBe('chargeCard');
    expect(frames.at(-1)?.filename).toMatch(/failure\.ts$/);
    expect(server.envelopes[0]?.path).toBe('/api/1/envelope/');
    expect(server.envelopes[0]?.sentryKey).toBe('publickey');
  });

  it('tags task, queue, cluster, attempt and final, and fingerprints by task and error name', async () => {
    const reporter = await createReporter({
      tags: { team: 'billing' },
      environment: 'staging',
      release: 'shop@4.2.0',
    });
    reporter.report(failureReport());
    await reporter.flush(5_000);

    const event = onlyEvent();
    expect(event.tags).toMatchObject({
      task: 'billing.charge',
      queue: 'payments',
      cluster: 'eu-1',
      attempt: '2',
      final: 'false',
      team: 'billing',
    });
    expect(event.fingerprint).toEqual(['billing.charge', 'TypeError']);
    expect(event.transaction).toBe('billing.charge');
    expect(event.environment).toBe('staging');
    expect(event.release).toBe('shop@4.2.0');
    expect(event.level).toBe('warning');
    expect(event.contexts.task).toMatchObject({
      job_id: '0193a8f0-0000-7000-8000-000000000001',
      attempt: 2,
      final: false,
      runtime_ms: 1250,
    });
  });

  it('marks the last attempt as an error, and two messages of one error name share a fingerprint', async () => {
    const reporter = await createReporter({});
    reporter.report(failureReport({ final: true, attempt: 3 }));
    reporter.report(
      failureReport({ jobId: 'other', error: { name: 'TypeError', message: 'card declined for order 9' } }),
    );
    await reporter.flush(5_000);

    const events = server.events() as unknown as SentEvent[];
    expect(events).toHaveLength(2);
    const last = events.find((event) => event.tags.final === 'true');
    expect(last?.level).toBe('error');
    expect(last?.tags.attempt).toBe('3');
    expect(new Set(events.map((event) => JSON.stringify(event.fingerprint))).size).toBe(1);
    const withoutStack = events.find(
      (event) => event.exception.values[0]?.value === 'card declined for order 9',
    );
    expect(withoutStack?.exception.values[0]?.stacktrace).toBeUndefined();
  });

  it('sends no arguments by default, even when the report carries them', async () => {
    const reporter = await createReporter({});
    reporter.report(
      failureReport({ args: [{ customer: 'ada@example.org', cardNumber: '4111111111111111' }] }),
    );
    await reporter.flush(5_000);

    const event = onlyEvent();
    expect(event.extra?.arguments).toBeUndefined();
    const everything = JSON.stringify(server.envelopes);
    expect(everything).not.toContain('ada@example.org');
    expect(everything).not.toContain('4111111111111111');
  });

  it('with sendArgs, sends arguments redacted by the default keys and redactKeys', async () => {
    const reporter = await createReporter({ sendArgs: true, redactKeys: ['IBAN'] });
    reporter.report(
      failureReport({
        args: [
          'order-4411',
          {
            customer: {
              email: 'ada@example.org',
              address: { city: 'Berlin', street: { name: 'Unter den Linden' } },
            },
            password: 'hunter2',
            apiKey: 'sk_live_123',
            payout: { iban: 'DE89370400440532013000', amount: 125 },
          },
        ],
      }),
    );
    await reporter.flush(5_000);

    const event = onlyEvent();
    expect(event.extra?.arguments).toEqual([
      'order-4411',
      {
        customer: {
          email: 'ada@example.org',
          address: { city: 'Berlin', street: { name: 'Unter den Linden' } },
        },
        password: '[redacted]',
        apiKey: '[redacted]',
        payout: { iban: '[redacted]', amount: 125 },
      },
    ]);
    const everything = JSON.stringify(server.envelopes);
    expect(everything).not.toContain('hunter2');
    expect(everything).not.toContain('sk_live_123');
    expect(everything).not.toContain('DE89370400440532013000');
  });

  it('never sends a sensitive value nested deeper than redaction looks', async () => {
    const reporter = await createReporter({ sendArgs: true });
    let nested: Record<string, unknown> = { password: 'deep-secret', note: 'deep-note' };
    for (let level = 0; level < 12; level += 1) nested = { level: nested };
    reporter.report(failureReport({ args: [nested] }));
    await reporter.flush(5_000);

    expect(server.events()).toHaveLength(1);
    const everything = JSON.stringify(server.envelopes);
    expect(everything).not.toContain('deep-secret');
    // Deep data is cut by the SDK's normalisation, not sent whole.
    expect(everything).not.toContain('deep-note');
  });

  it('sends nothing with sampleRate 0', async () => {
    const reporter = await createReporter({ sampleRate: 0 });
    reporter.report(failureReport());
    reporter.report(failureReport());
    await reporter.flush(5_000);
    expect(server.events()).toHaveLength(0);
  });
});

describe('the process around the reporter', () => {
  it('leaves the global Sentry alone: no initialised SDK, no current client', async () => {
    const reporter = await createReporter({});
    reporter.report(failureReport());
    await reporter.flush(5_000);

    const [event] = server.events() as { sdk?: { integrations?: string[] } }[];
    expect(event?.sdk?.integrations ?? []).toEqual([]);
    expect(Sentry.isInitialized()).toBe(false);
    expect(Sentry.getClient()).toBeUndefined();
  });

  it('logs the first undelivered event and a count at flush, and keeps accepting reports', async () => {
    const unreachable = await startEnvelopeServer();
    await unreachable.close();
    const logger = recordingLogger();
    const reporter = (await sentryReporter.create({ dsn: unreachable.dsn }, { logger })) as SentryReporter;
    reporters.push(reporter);

    reporter.report(failureReport());
    reporter.report(failureReport());
    await expect(reporter.flush(2_000)).resolves.toBeUndefined();
    expect(() => reporter.report(failureReport())).not.toThrow();

    const destination = `http://127.0.0.1:${unreachable.port}/1`;
    expect(logger.records).toEqual([
      {
        level: 'warn',
        fields: { destination, statusCode: undefined },
        message: expect.stringMatching(/an event was not delivered/),
      },
      {
        level: 'warn',
        fields: { destination, undelivered: 2 },
        message: 'sentry error reporter: events not delivered to Sentry',
      },
    ]);
    expect(JSON.stringify(logger.records)).not.toContain('publickey');
  });

  it('logs when delivery works again, with how many events were lost meanwhile', async () => {
    const down = await startEnvelopeServer();
    await down.close();
    const logger = recordingLogger();
    const reporter = (await sentryReporter.create({ dsn: down.dsn }, { logger })) as SentryReporter;
    reporters.push(reporter);
    reporter.report(failureReport());
    await reporter.client.flush(2_000);

    const back = await startEnvelopeServer('publickey', down.port);
    try {
      reporter.report(failureReport({ jobId: 'after-recovery' }));
      await reporter.flush(5_000);
      expect(back.events()).toEqual([
        expect.objectContaining({
          contexts: expect.objectContaining({ task: expect.objectContaining({ job_id: 'after-recovery' }) }),
        }),
      ]);
      expect(logger.records.map((record) => [record.level, record.fields])).toEqual([
        ['warn', { destination: `http://127.0.0.1:${down.port}/1`, statusCode: undefined }],
        ['info', { destination: `http://127.0.0.1:${down.port}/1`, undelivered: 1 }],
      ]);
    } finally {
      await back.close();
    }
  });

  it('says whether reports should carry arguments', () => {
    expect(sentryReporter.wantsArgs({ dsn: server.dsn })).toBe(false);
    expect(sentryReporter.wantsArgs({ dsn: server.dsn, sendArgs: true })).toBe(true);
  });

  it('refuses to start without a DSN', async () => {
    await expect(
      Promise.resolve().then(() => sentryReporter.create({} as never, { logger: recordingLogger() })),
    ).rejects.toThrow(ConfigError);
  });
});
