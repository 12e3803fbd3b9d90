import { describe, expect, it } from 'vitest';
import { addedSentinelFlags, SENTINEL_FLAGS, sentinelRestart } from './sentinel-flags.js';

const base = {
  argv: ['/usr/bin/node', '/app/node_modules/.bin/tasq', 'cluster', '--concurrency', '50'],
  execArgv: ['--enable-source-maps'],
  env: { PATH: '/usr/bin' },
  platform: 'linux' as const,
  canExecve: true,
};

describe('sentinelRestart', () => {
  it('restarts `tasq cluster` with the sentinel flags, keeping its own flags, arguments and environment', () => {
    const restart = sentinelRestart(base)!;
    expect(restart.args).toEqual([
      '/usr/bin/node',
      '--enable-source-maps',
      ...SENTINEL_FLAGS,
      '/app/node_modules/.bin/tasq',
      'cluster',
      '--concurrency',
      '50',
    ]);
    expect(restart.env.PATH).toBe('/usr/bin');
    expect(addedSentinelFlags(restart.env)).toEqual(SENTINEL_FLAGS);
  });

  it('restarts once', () => {
    const restart = sentinelRestart(base)!;
    expect(
      sentinelRestart({
        ...base,
        execArgv: restart.args.slice(1, 2 + SENTINEL_FLAGS.length),
        env: restart.env,
      }),
    ).toBeUndefined();
  });

  it('leaves other commands alone', () => {
    expect(sentinelRestart({ ...base, argv: ['/usr/bin/node', 'tasq', 'info'] })).toBeUndefined();
  });

  it('keeps a young generation the user chose, on the command line or in NODE_OPTIONS', () => {
    expect(sentinelRestart({ ...base, execArgv: ['--max-semi-space-size=16'] })).toBeUndefined();
    expect(
      sentinelRestart({ ...base, env: { NODE_OPTIONS: '--max-semi-space-size=1 --trace-gc' } }),
    ).toBeUndefined();
  });

  it('goes on as it is where execve is missing', () => {
    expect(sentinelRestart({ ...base, canExecve: false })).toBeUndefined();
    expect(sentinelRestart({ ...base, platform: 'win32' })).toBeUndefined();
  });
});

describe('addedSentinelFlags', () => {
  it('is empty in a process tasq did not restart', () => {
    expect(addedSentinelFlags({})).toEqual([]);
  });
});
