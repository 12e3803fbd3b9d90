import { InvalidArgumentError } from '@tasq/core/backend';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from './orm-options.js';
import { TableNames } from './table-names.js';

describe('orm options', () => {
  it('defaults to SQLite at ./.tasq/tasq.db with tables prefixed tasq_ and a 200 ms poll', () => {
    const resolved = resolveOptions(undefined);
    expect(resolved.location).toEqual({ dialect: 'sqlite', file: '.tasq/tasq.db' });
    expect(resolved.prefix).toBe('tasq_');
    expect(resolved.schema).toBeUndefined();
    expect(resolved.pollMs).toBe(200);
  });

  it('reads every SQLite URL form and a bare path', () => {
    const file = (url: string) => (resolveOptions({ url }).location as { file: string }).file;
    expect(file('sqlite:./data/jobs.db')).toBe('./data/jobs.db');
    expect(file('sqlite:///var/lib/app/jobs.db')).toBe('/var/lib/app/jobs.db');
    expect(file('sqlite://./jobs.db')).toBe('./jobs.db');
    expect(file('sqlite::memory:')).toBe(':memory:');
    expect(file('./jobs.db')).toBe('./jobs.db');
  });

  it('reads a PostgreSQL URL, with schema tasq, no prefix and NOTIFY-backed waits', () => {
    const resolved = resolveOptions({ url: 'postgresql://app:secret@db:5432/app' });
    expect(resolved.location).toEqual({
      dialect: 'postgres',
      connectionString: 'postgresql://app:secret@db:5432/app',
    });
    expect(resolved.schema).toBe('tasq');
    expect(resolved.prefix).toBe('');
    expect(resolved.pollMs).toBe(2_000);
  });

  it('turns a schema into a table prefix on SQLite', () => {
    expect(resolveOptions({ url: 'sqlite:x.db', schema: 'jobs' }).prefix).toBe('jobs_');
    expect(resolveOptions({ url: 'sqlite:x.db', schema: 'jobs', tablePrefix: 'q_' }).prefix).toBe('jobs_q_');
  });

  it('names the problem in every bad option, and hides the password of a bad URL', () => {
    const failure = (options: object) => {
      try {
        resolveOptions(options as never);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentError);
        return (error as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(failure({ url: 'mysql://root:hunter2@db/app' })).toMatch(/unsupported scheme/);
    expect(failure({ url: 'mysql://root:hunter2@db/app' })).not.toContain('hunter2');
    expect(failure({ urll: 'sqlite:x.db' })).toMatch(/unknown orm option "urll"/);
    expect(failure({ url: 'sqlite:x.db', database: {} })).toMatch(/exclude each other/);
    expect(failure({ pool: {} })).toMatch(/"pool" must be a pg.Pool/);
    expect(failure({ poll: -5 })).toMatch(/"poll" must be a positive number/);
    expect(failure({ url: 'sqlite:' })).toMatch(/names no SQLite file/);
  });

  it('accepts only plain identifiers for schema and prefix, since they are put into SQL text', () => {
    expect(() => new TableNames({ schema: 'tasq"; DROP TABLE x; --', prefix: '' })).toThrow(
      /not a plain identifier/,
    );
    expect(() => new TableNames({ prefix: 'Bad-Prefix' })).toThrow(/tablePrefix "Bad-Prefix"/);
    const names = new TableNames({ schema: 'jobs', prefix: 'app_' });
    expect(names.identifier('packages')).toBe('"jobs"."app_packages"');
    expect(names.identifier('packages_claim_index')).toBe('"app_packages_claim_index"');
    expect(names.channel('packages')).toBe('jobs.app_packages');
    const longest = new TableNames({ schema: 's'.repeat(30), prefix: 'p'.repeat(30) });
    expect(longest.channel('results').length).toBeLessThanOrEqual(63);
    expect(longest.channel('results')).not.toBe(longest.channel('packages'));
  });
});
