import { ConfigError } from '@tasq/core';
import { describe, expect, it } from 'vitest';
import { resolveSentryReporterOptions } from './sentry-options.js';

const dsn = 'https://abc123def@o42.ingest.sentry.io/4507';

function issuesOf(options: unknown): readonly string[] {
  try {
    resolveSentryReporterOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected the options to be refused');
}

describe('@tasq/sentry options', () => {
  it('fills in defaults for everything but the DSN', () => {
    expect(resolveSentryReporterOptions({ dsn })).toEqual({
      dsn,
      environment: undefined,
      release: undefined,
      sendArgs: false,
      redactKeys: [],
      tags: {},
      sampleRate: 1,
    });
  });

  it('keeps what is given, with redactKeys lower-cased (matching is case-insensitive)', () => {
    const resolved = resolveSentryReporterOptions({
      dsn,
      environment: 'production',
      release: 'shop@1.0.0',
      sendArgs: true,
      redactKeys: ['IBAN', 'dateOfBirth'],
      tags: { team: 'billing' },
      sampleRate: 0.25,
    });
    expect(resolved).toMatchObject({
      environment: 'production',
      release: 'shop@1.0.0',
      sendArgs: true,
      redactKeys: ['iban', 'dateofbirth'],
      tags: { team: 'billing' },
      sampleRate: 0.25,
    });
  });

  it('requires a DSN', () => {
    expect(issuesOf({})).toEqual([expect.stringMatching(/^errorReporter\.options\.dsn is required/)]);
    expect(issuesOf({ dsn: '' })).toEqual([
      expect.stringMatching(/^errorReporter\.options\.dsn is required/),
    ]);
  });

  it.each([
    ['not a URL', 'sentry.example.org', /not a URL/],
    ['a scheme other than http(s)', 'ftp://key@sentry.example.org/1', /scheme must be https or http/],
    ['no public key', 'https://sentry.example.org/1', /public key/],
    ['no project id', 'https://key@sentry.example.org/', /numeric project id/],
    ['a project name instead of its id', 'https://key@sentry.example.org/my-project', /numeric project id/],
  ])('refuses a DSN with %s', (_label, value, reason) => {
    const [issue] = issuesOf({ dsn: value });
    expect(issue).toMatch(/^errorReporter\.options\.dsn is not a valid DSN/);
    expect(issue).toMatch(reason);
  });

  it('does not repeat the whole public key of a malformed DSN in the error', () => {
    const [issue] = issuesOf({ dsn: 'https://0123456789abcdef@sentry.example.org/not-a-number' });
    expect(issue).not.toContain('0123456789abcdef');
    expect(issue).toContain('0123…@sentry.example.org');
  });

  it('refuses a DSN that is not a string', () => {
    expect(issuesOf({ dsn: 42 })).toEqual(['errorReporter.options.dsn must be a string, got number 42']);
  });

  it('names every malformed key at once', () => {
    const issues = issuesOf({
      dsn,
      environment: '',
      release: 7,
      sendArgs: 'yes',
      redactKeys: 'password',
      tags: { team: 3 },
      sampleRate: 1.5,
    });
    expect(issues).toEqual([
      'errorReporter.options.environment must be a non-empty string, got the string ""',
      'errorReporter.options.release must be a non-empty string, got number 7',
      'errorReporter.options.sendArgs must be true or false, got the string "yes"',
      'errorReporter.options.redactKeys must be an array of key names, got the string "password"',
      'errorReporter.options.tags.team must be a string, got number 3',
      'errorReporter.options.sampleRate must be a number from 0 to 1, got number 1.5',
    ]);
  });

  it('refuses empty redact keys, over-long tag keys and a tags array', () => {
    expect(issuesOf({ dsn, redactKeys: ['iban', ''] })).toEqual([
      'errorReporter.options.redactKeys[1] must be a non-empty string, got the string ""',
    ]);
    expect(issuesOf({ dsn, tags: { ['k'.repeat(33)]: 'v' } })[0]).toMatch(
      /tag keys must be 1 to 32 characters/,
    );
    expect(issuesOf({ dsn, tags: ['team'] })).toEqual([
      'errorReporter.options.tags must be an object of string values, got an array',
    ]);
  });

  it('refuses unknown keys, naming them', () => {
    expect(issuesOf({ dsn, sendArguments: true })).toEqual([
      expect.stringMatching(
        /^errorReporter\.options\.sendArguments is not an option of @tasq\/sentry \(known: dsn, /,
      ),
    ]);
  });

  it('refuses options that are not an object', () => {
    expect(issuesOf(undefined)[0]).toMatch(
      /errorReporter\.options must be an object with at least \{ dsn \}/,
    );
    expect(issuesOf('https://key@sentry.example.org/1')[0]).toMatch(/got the string/);
  });

  it('takes sampleRate 0 and 1 as bounds', () => {
    expect(resolveSentryReporterOptions({ dsn, sampleRate: 0 }).sampleRate).toBe(0);
    expect(resolveSentryReporterOptions({ dsn, sampleRate: 1 }).sampleRate).toBe(1);
    expect(issuesOf({ dsn, sampleRate: -0.1 })[0]).toMatch(/sampleRate must be a number from 0 to 1/);
    expect(issuesOf({ dsn, sampleRate: Number.NaN })[0]).toMatch(/sampleRate must be a number from 0 to 1/);
  });
});
