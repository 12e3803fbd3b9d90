import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { loadConfig } from './load.js';
import { INSECURE_DEVELOPMENT_SECRET, resolveConfig, toEnvName } from './resolve.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('fills every default, with the embedded SQLite broker when none is configured', () => {
    const config = resolveConfig({}, { env: {} });
    expect(config.name).toBe('default');
    expect(config.queues).toEqual(['default']);
    expect(config.workers).toBeGreaterThanOrEqual(1);
    expect(config.recycle).toBe(100_000);
    expect(config.retryMs).toBe(60_000);
    expect(config.saveLimit).toBe(250);
    expect(config.stopTimeoutMs).toBe(600_000);
    expect(config.guardCycleMs).toBe(500);
    expect(config.pollMs).toBe(200);
    expect(config.broker).toEqual({ module: '@tasq/orm', options: {}, source: 'default' });
    expect(config.secrets).toEqual([INSECURE_DEVELOPMENT_SECRET]);
    expect(config.insecureSecret).toBe(true);
  });

  it('fetches by default twice what the pool can run at once, up to 100 per reserve, holding two bulks', () => {
    const at = (input: Record<string, unknown>) => {
      const { bulk, queueLimit } = resolveConfig(input, { env: {} });
      return { bulk, queueLimit };
    };
    expect(at({ workers: 1, concurrency: 1 })).toEqual({ bulk: 2, queueLimit: 4 });
    expect(at({ workers: 2, concurrency: 10 })).toEqual({ bulk: 40, queueLimit: 80 });
    expect(at({ workers: 1, concurrency: 50 })).toEqual({ bulk: 100, queueLimit: 200 });
    expect(at({ workers: 4, concurrency: 50 })).toEqual({ bulk: 100, queueLimit: 800 });
    // One set, the other follows it: never a complaint about a value the user did not write.
    expect(at({ workers: 1, concurrency: 50, queueLimit: 10 })).toEqual({ bulk: 10, queueLimit: 10 });
    expect(at({ workers: 1, concurrency: 50, bulk: 500 })).toEqual({ bulk: 500, queueLimit: 500 });
    expect(at({ workers: 1, concurrency: 50, bulk: 5 })).toEqual({ bulk: 5, queueLimit: 200 });
  });

  it('reads the reference units: seconds for times, kilobytes for maxRss, and unit strings', () => {
    const config = resolveConfig(
      { timeout: 60, retry: '2m', softTimeout: '45s', maxRss: 200_000, poll: '50ms' },
      { env: {} },
    );
    expect(config.timeoutMs).toBe(60_000);
    expect(config.retryMs).toBe(120_000);
    expect(config.softTimeoutMs).toBe(45_000);
    expect(config.maxRssBytes).toBe(200_000 * 1024);
    expect(config.pollMs).toBe(50);
    expect(resolveConfig({ maxRss: '512MB' }, { env: {} }).maxRssBytes).toBe(512 * 1024 * 1024);
  });

  it('names the keys and the reason when retry does not exceed timeout', () => {
    const error = configError(() => resolveConfig({ retry: 30, timeout: 60 }, { env: {} }));
    expect(error.issues).toEqual([expect.stringContaining('retry (30) must be greater than timeout (60)')]);
  });

  it('lists every problem at once, unknown keys included', () => {
    const error = configError(() =>
      resolveConfig(
        { workers: 0, wokers: 4, compress: 'lz4', saveLimitPer: 'func', guardCycle: 'soon' },
        { env: {} },
      ),
    );
    const text = error.message;
    expect(text).toContain('unknown option wokers');
    expect(text).toContain('workers');
    expect(text).toContain('compress');
    expect(text).toContain('saveLimitPer');
    expect(text).toContain('guardCycle');
    expect(error.issues.length).toBe(5);
  });

  it('reports impossible combinations', () => {
    expect(configError(() => resolveConfig({ redis: 'redis://x', sqs: {} }, { env: {} })).message).toContain(
      'only one broker may be configured, found: redis, sqs',
    );
    expect(
      configError(() => resolveConfig({ softTimeout: 10, timeout: 5, retry: 60 }, { env: {} })).message,
    ).toContain('softTimeout (10) must be less than timeout (5)');
    expect(configError(() => resolveConfig({ bulk: 10, queueLimit: 5 }, { env: {} })).message).toContain(
      'bulk (10) must not exceed queueLimit (5)',
    );
    expect(configError(() => resolveConfig({ guardCycle: 90 }, { env: {} })).message).toContain('guardCycle');
  });

  it('takes a result backend by class or by the same shorthands as the broker', () => {
    const resolve = (resultBackend: Record<string, unknown>) =>
      resolveConfig({ rabbitmq: 'amqp://mq', resultBackend }, { env: {} }).resultBackend;
    expect(resolve({ redis: 'redis://cache:6379' })).toEqual({
      module: '@tasq/redis',
      options: { url: 'redis://cache:6379' },
    });
    expect(resolve({ postgres: { url: 'postgres://db/app', schema: 'jobs' } })).toEqual({
      module: '@tasq/orm',
      options: { url: 'postgres://db/app', schema: 'jobs' },
    });
    expect(resolve({ sqlite: './results.db' })?.options).toEqual({ url: 'sqlite:./results.db' });
    expect(resolve({ mongo: 'mongodb://m', mongoDb: 'results' })).toEqual({
      module: '@tasq/mongo',
      options: { url: 'mongodb://m', database: 'results' },
    });
    expect(resolve({ class: './my-backend.js', options: { a: 1 } })).toEqual({
      module: './my-backend.js',
      options: { a: 1 },
    });
    const refused: [Record<string, unknown>, string][] = [
      [
        {},
        'resultBackend needs class (a package or module path) or one of redis, orm, postgres, sqlite, mongo',
      ],
      [
        { redis: 'redis://a', postgres: 'postgres://b' },
        'resultBackend takes one backend, found: redis, postgres',
      ],
      [{ class: '@tasq/redis', redis: 'redis://a' }, 'resultBackend takes one backend, found: class, redis'],
      [
        { redis: 'redis://a', options: { db: 1 } },
        "resultBackend.options goes with class; put redis's options in it",
      ],
      [
        { sqs: 'https://sqs' },
        'resultBackend.sqs: SQS stores no results; use one of redis, orm, postgres, sqlite, mongo',
      ],
      [{ rabbitmq: 'amqp://mq' }, 'resultBackend.rabbitmq: RabbitMQ stores no results'],
    ];
    for (const [input, message] of refused) {
      expect(configError(() => resolve(input)).message, JSON.stringify(input)).toContain(message);
    }
  });

  it('maps broker shorthands to their packages', () => {
    expect(resolveConfig({ redis: 'redis://127.0.0.1:6379' }, { env: {} }).broker).toEqual({
      module: '@tasq/redis',
      options: { url: 'redis://127.0.0.1:6379' },
      source: 'redis',
    });
    expect(resolveConfig({ mongo: { host: 'h' }, mongoDb: 'jobs' }, { env: {} }).broker.options).toEqual({
      host: 'h',
      database: 'jobs',
    });
    expect(resolveConfig({ sqlite: './data/q.db' }, { env: {} }).broker.options).toEqual({
      url: 'sqlite:./data/q.db',
    });
    expect(
      resolveConfig({ brokerClass: './my.js#Mine', brokerOptions: { a: 1 } }, { env: {} }).broker,
    ).toEqual({
      module: './my.js#Mine',
      options: { a: 1 },
      source: 'brokerClass',
    });
  });

  it('applies environment overrides over the file, and flags over both', () => {
    expect(toEnvName('queueLimit')).toBe('TASQ_QUEUE_LIMIT');
    const config = resolveConfig(
      { workers: 2, queueLimit: 10 },
      {
        env: { TASQ_WORKERS: '4', TASQ_QUEUES: 'a, b', TASQ_SYNC: 'true', TASQ_SECRET: 'from-env' },
        overrides: { queueLimit: 20 },
      },
    );
    expect(config.workers).toBe(4);
    expect(config.queues).toEqual(['a', 'b']);
    expect(config.sync).toBe(true);
    expect(config.queueLimit).toBe(20);
    expect(config.secrets).toEqual(['from-env']);
    expect(config.insecureSecret).toBe(false);
    // A bad value from the environment names its variable; the same mistake in the file does not.
    expect(configError(() => resolveConfig({}, { env: { TASQ_WORKERS: 'many' } })).message).toContain(
      'workers (from TASQ_WORKERS="many"): ',
    );
    expect(
      configError(() => resolveConfig({ workers: 'many' }, { env: { TASQ_SAVE_LIMIT: '5' } })).message,
    ).toMatch(/workers: Invalid input/);
    // A flag given over the variable is what was checked: no variable to blame.
    expect(
      configError(() => resolveConfig({}, { env: { TASQ_WORKERS: '4' }, overrides: { workers: 0 } })).message,
    ).toMatch(/workers: Too small/);
  });

  it('checks schedules from the configuration, naming the schedule', () => {
    const config = resolveConfig(
      {
        timeZone: 'Europe/Berlin',
        schedules: {
          nightly: { task: 'reports.build', args: ['daily'], cron: '0 3 * * *', job: { queue: 'reports' } },
          sweep: { task: 'cache.sweep', kind: 'minutes', minutes: 5, start: '2030-01-01T00:00:00Z' },
        },
      },
      { env: {} },
    );
    expect(config.schedules.nightly).toEqual({
      task: 'reports.build',
      args: ['daily'],
      options: { name: 'nightly', cron: '0 3 * * *', job: { queue: 'reports' } },
    });
    expect(config.schedules.sweep?.options.start).toBe(Date.UTC(2030, 0, 1));
    const error = (() => {
      try {
        resolveConfig(
          {
            schedules: {
              bad: { task: 'x', cron: '61 * * * *' },
              zone: { task: 'x', kind: 'daily', timeZone: 'Mars/Olympus' },
              when: { task: 'x', start: 'tomorrow' },
              typo: { task: 'x', every: 5 },
            },
          },
          { env: {} },
        );
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const issues = error!.issues.join('\n');
    expect(issues).toMatch(/unknown option schedules\.typo\.every/);
    const valid = (() => {
      try {
        resolveConfig(
          {
            schedules: {
              bad: { task: 'x', cron: '61 * * * *' },
              zone: { task: 'x', kind: 'daily', timeZone: 'Mars/Olympus' },
              when: { task: 'x', start: 'tomorrow' },
            },
          },
          { env: {} },
        );
      } catch (caught) {
        return (caught as ConfigError).issues;
      }
    })();
    expect(valid).toHaveLength(3);
    expect(valid![0]).toMatch(/^schedules\.bad: /);
    expect(valid![1]).toMatch(/^schedules\.zone: unknown time zone "Mars\/Olympus"/);
    expect(valid![2]).toBe('schedules.when.start: "tomorrow" is not an ISO date-time');
  });

  it('merges an alt cluster over the root and rejects an unknown one', () => {
    const input = {
      timeout: 60,
      retry: 90,
      altClusters: { long: { timeout: 3000, retry: 3600, maxAttempts: 2 } },
    };
    const long = resolveConfig(input, { cluster: 'long', env: {} });
    expect(long.cluster).toBe('long');
    expect(long.timeoutMs).toBe(3_000_000);
    expect(long.maxAttempts).toBe(2);
    expect(resolveConfig(input, { env: {} }).timeoutMs).toBe(60_000);
    // Run-time settings (flags, then environment) beat the alt cluster's file values.
    expect(
      resolveConfig(input, { cluster: 'long', env: {}, overrides: { maxAttempts: 5 } }).maxAttempts,
    ).toBe(5);
    expect(resolveConfig(input, { cluster: 'long', env: { TASQ_MAX_ATTEMPTS: '7' } }).maxAttempts).toBe(7);
    expect(configError(() => resolveConfig(input, { cluster: 'short', env: {} })).message).toContain(
      'cluster "short" is not in altClusters (known: long)',
    );
  });

  it('gives an alt cluster the queue named after it, or its own `queue`, never the root queues', () => {
    const input = {
      queue: 'web',
      queues: ['web', 'mail'],
      altClusters: { short: { timeout: 10 }, long: { queue: 'slow-lane' }, both: { queues: ['a', 'b'] } },
    };
    const short = resolveConfig(input, { cluster: 'short', env: {} });
    // What the cluster consumes, and where a client connected for it enqueues by default.
    expect(short.queues).toEqual(['short']);
    expect(short.queue).toBe('short');
    const long = resolveConfig(input, { cluster: 'long', env: {} });
    expect(long.queues).toEqual(['slow-lane']);
    expect(long.queue).toBe('slow-lane');
    expect(resolveConfig(input, { cluster: 'both', env: {} })).toMatchObject({
      queue: 'both',
      queues: ['a', 'b'],
    });
    // Scheduled runs that name no queue go to the deployment's queue, whichever cluster leads.
    expect(short.deploymentQueue).toBe('web');
    const root = resolveConfig(input, { env: {} });
    expect(root).toMatchObject({ queue: 'web', queues: ['web', 'mail'], deploymentQueue: 'web' });
    // A flag still wins over the alt entry.
    expect(resolveConfig(input, { cluster: 'short', env: {}, overrides: { queues: ['x'] } }).queues).toEqual([
      'x',
    ]);
    expect(
      configError(() => resolveConfig({ altClusters: { bad: { queue: 'no spaces' } } }, { env: {} })).message,
    ).toContain('altClusters.bad.queue');
  });

  it('warns about a TASQ_* variable that sets nothing, naming the closest setting', () => {
    const config = resolveConfig(
      { workers: 2 },
      {
        env: {
          TASQ_WORKRES: '4',
          TASQ_SAVE_LIMT: '10',
          TASQ_REDIS_URL: 'redis://cache:6379',
          TASQ_ZZZZZZZZZZZZ: '1',
          TASQ_SECRET: 's',
          TASQ_QUEUES: 'a,b',
          OTHER_WORKRES: '1',
        },
      },
    );
    expect(config.workers).toBe(2);
    expect(config.warnings).toEqual([
      'TASQ_WORKRES is not a tasq setting and is ignored; did you mean TASQ_WORKERS?',
      'TASQ_SAVE_LIMT is not a tasq setting and is ignored; did you mean TASQ_SAVE_LIMIT?',
      'TASQ_REDIS_URL is not a tasq setting and is ignored; did you mean TASQ_REDIS?',
      'TASQ_ZZZZZZZZZZZZ is not a tasq setting and is ignored (each option has one: TASQ_WORKERS, TASQ_SAVE_LIMIT...)',
    ]);
    expect(resolveConfig({}, { env: { TASQ_WORKERS: '3' } }).warnings).toEqual([]);
  });

  it('loads tasq.config.json, .mjs and .ts files from the working directory', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tasq-config-'));
    writeFileSync(path.join(dir, 'tasq.config.json'), JSON.stringify({ workers: 3 }));
    expect((await loadConfig({ cwd: dir, env: {} })).workers).toBe(3);
    const mjs = mkdtempSync(path.join(tmpdir(), 'tasq-config-'));
    writeFileSync(path.join(mjs, 'tasq.config.mjs'), 'export default { workers: 5, label: "mjs" };');
    expect((await loadConfig({ cwd: mjs, env: {} })).label).toBe('mjs');
    const ts = mkdtempSync(path.join(tmpdir(), 'tasq-config-'));
    writeFileSync(
      path.join(ts, 'tasq.config.ts'),
      'const workers: number = 7;\nexport default { workers, queues: ["x"] as string[] };\n',
    );
    const fromTs = await loadConfig({ cwd: ts, env: {} });
    expect(fromTs.workers).toBe(7);
    expect(fromTs.queues).toEqual(['x']);
    const broken = mkdtempSync(path.join(tmpdir(), 'tasq-config-'));
    writeFileSync(path.join(broken, 'tasq.config.json'), '{ workers: ');
    await expect(loadConfig({ cwd: broken, env: {} })).rejects.toThrow(/not valid JSON/);
    await expect(loadConfig({ file: path.join(broken, 'missing.json'), env: {} })).rejects.toThrow(
      /not found/,
    );
  });
  it('loads a tasq.config.ts that imports defineConfig in CommonJS and ES module projects alike', () => {
    // In a plain Node process, as a user's project loads it (vitest's own loader would transpile anything).
    const packageFolder = path.resolve(import.meta.dirname, '../..');
    const load = (dir: string) =>
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { loadConfig } = await import(${JSON.stringify(path.join(packageFolder, 'dist/index.js'))});
           const config = await loadConfig({ cwd: process.cwd(), env: {} });
           console.log(JSON.stringify({ workers: config.workers, label: config.label }));`,
        ],
        { cwd: dir, encoding: 'utf8' },
      );
    for (const type of ['commonjs', 'module']) {
      const dir = mkdtempSync(path.join(tmpdir(), `tasq-config-${type}-`));
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', type }));
      mkdirSync(path.join(dir, 'node_modules', '@tasq'), { recursive: true });
      symlinkSync(packageFolder, path.join(dir, 'node_modules', '@tasq', 'core'), 'dir');
      writeFileSync(
        path.join(dir, 'tasq.config.ts'),
        "import { defineConfig } from '@tasq/core';\n" +
          'const workers: number = 3;\n' +
          `export default defineConfig({ workers, label: '${type}' });\n`,
      );
      expect(JSON.parse(load(dir)), type).toEqual({ workers: 3, label: type });
      // ES module syntax in a .js file of a CommonJS project loads too.
      const js = mkdtempSync(path.join(tmpdir(), `tasq-config-${type}-`));
      writeFileSync(path.join(js, 'package.json'), JSON.stringify({ name: 'app', type }));
      writeFileSync(path.join(js, 'tasq.config.js'), 'export default { workers: 4, label: "js" };\n');
      expect(JSON.parse(load(js)), type).toEqual({ workers: 4, label: 'js' });
    }
  });
});

describe('dashboard settings', () => {
  it('has no password by default, listens on loopback, and keeps a sign-in for 8 hours', () => {
    const { dashboard } = resolveConfig({}, { env: {} });
    expect(dashboard).toEqual({
      sessionTtlMs: 8 * 3_600_000,
      host: '127.0.0.1',
      port: 7077,
      showPayloads: false,
    });
  });

  it('reads passwords from the file, and TASQ_DASHBOARD_* over them without a warning', () => {
    const input = {
      dashboard: {
        password: 'file-operator',
        viewerPassword: 'file-viewer',
        sessionTtl: '30m',
        showPayloads: true,
      },
    };
    expect(resolveConfig(input, { env: {} }).dashboard).toMatchObject({
      password: 'file-operator',
      viewerPassword: 'file-viewer',
      sessionTtlMs: 1_800_000,
      showPayloads: true,
    });
    const env = { TASQ_DASHBOARD_PASSWORD: 'env-operator', TASQ_DASHBOARD_VIEWER_PASSWORD: 'env-viewer' };
    const config = resolveConfig(input, { env });
    expect(config.dashboard).toMatchObject({ password: 'env-operator', viewerPassword: 'env-viewer' });
    expect(config.warnings).toEqual([]);
  });

  it('refuses short passwords and one password for both roles, naming where they came from', () => {
    expect(
      configError(() => resolveConfig({ dashboard: { password: 'short' } }, { env: {} })).message,
    ).toMatch(/dashboard\.password.*at least 8 characters/);
    expect(
      configError(() => resolveConfig({}, { env: { TASQ_DASHBOARD_PASSWORD: 'short' } })).message,
    ).toContain('TASQ_DASHBOARD_PASSWORD must be at least 8 characters');
    expect(
      configError(() =>
        resolveConfig(
          { dashboard: { password: 'same-password', viewerPassword: 'same-password' } },
          { env: {} },
        ),
      ).message,
    ).toContain('the operator and viewer passwords are the same');
  });
});

describe('deadLetters (dead-letter retention)', () => {
  it('keeps two weeks and at most 100,000 per queue by default, nothing is trimmed with false', () => {
    expect(resolveConfig({}, { env: {} }).deadLetterRetention).toEqual({
      maxAgeMs: 14 * 86_400_000,
      maxCount: 100_000,
    });
    expect(resolveConfig({ deadLetters: false }, { env: {} }).deadLetterRetention).toBeUndefined();
  });

  it('takes an age, a count or both; a limit left out is no limit', () => {
    expect(resolveConfig({ deadLetters: { maxAge: '7d' } }, { env: {} }).deadLetterRetention).toEqual({
      maxAgeMs: 7 * 86_400_000,
    });
    expect(
      resolveConfig({}, { env: { TASQ_DEAD_LETTERS: '{"maxCount": 500}' } }).deadLetterRetention,
    ).toEqual({ maxCount: 500 });
  });

  it('names a bad setting', () => {
    const error = configError(() =>
      resolveConfig({ deadLetters: { maxAge: 'soon', keep: 3 } as never }, { env: {} }),
    );
    expect(error.message).toMatch(/deadLetters/);
  });
});
