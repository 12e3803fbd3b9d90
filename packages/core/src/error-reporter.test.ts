import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { redact } from './error-reporter.js';
import { ConfigError } from './errors.js';
import { loadErrorReporter } from './load-plugin.js';

describe('error reporters', () => {
  it('redacts sensitive-looking keys at any depth and leaves the rest', () => {
    const args = [
      'user-1',
      { email: 'a@b.c', password: 'hunter2', nested: { apiKey: 'k', list: [{ Authorization: 'Bearer x' }] } },
      new Map([['sessionToken', 't']]),
    ];
    expect(redact(args)).toEqual([
      'user-1',
      {
        email: 'a@b.c',
        password: '[redacted]',
        nested: { apiKey: '[redacted]', list: [{ Authorization: '[redacted]' }] },
      },
      new Map([['sessionToken', '[redacted]']]),
    ]);
    expect(args[1]).toMatchObject({ password: 'hunter2' });
  });

  it('loads a reporter module, and names a module that is not one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tasq-reporter-'));
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    // The object defineErrorReporter returns, written out, as a module outside this package would ship it.
    writeFileSync(
      path.join(dir, 'reporter.js'),
      `export default {
         kind: 'tasq.error-reporter',
         wantsArgs: (options) => options.sendArgs === true,
         create: (options) => ({ name: 'list:' + options.label, report() {} }),
       };`,
    );
    writeFileSync(path.join(dir, 'not-a-reporter.js'), 'export default { report() {} };');
    const { reporter, wantsArgs } = await loadErrorReporter(
      { module: './reporter.js', options: { label: 'x', sendArgs: true } },
      undefined,
      dir,
    );
    expect(reporter.name).toBe('list:x');
    expect(wantsArgs).toBe(true);
    await expect(
      loadErrorReporter({ module: './not-a-reporter.js', options: {} }, undefined, dir),
    ).rejects.toBeInstanceOf(ConfigError);
    await expect(loadErrorReporter({ module: './missing.js', options: {} }, undefined, dir)).rejects.toThrow(
      /cannot load/,
    );
  });
});
