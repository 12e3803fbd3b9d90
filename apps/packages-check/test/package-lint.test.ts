/**
 * Every published tarball passes publint (with its suggestions) and arethetypeswrong. tasq is ES modules
 * only: CommonJS code loads it with require() (Node >= 22.12 loads ES modules that way without a flag, and
 * every package asks for >= 22.13), so arethetypeswrong runs with its `esm-only` profile, which leaves out
 * the node10 and node16-from-CommonJS resolutions; install.test.ts requires the packages from CommonJS
 * for real, and type-checks a CommonJS consumer with TypeScript's nodenext rules.
 */
import { readFileSync } from 'node:fs';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, inject, it } from 'vitest';

const tarballs = inject('tarballs');
const ESM_ONLY_IGNORED_RESOLUTIONS = new Set(['node10', 'node16-cjs']);

describe.each(Object.entries(tarballs))('%s', (_name, tarball) => {
  it('passes publint', async () => {
    const data = readFileSync(tarball);
    const { messages, pkg } = await publint({
      pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
      level: 'suggestion',
    });
    expect(messages.map((message) => `${message.type}: ${formatMessage(message, pkg)}`)).toEqual([]);
  });

  it('passes arethetypeswrong (esm-only profile)', async () => {
    const result = await checkPackage(createPackageFromTarballData(new Uint8Array(readFileSync(tarball))));
    if (result.types === false) throw new Error('the package ships no types');
    const problems = result.problems.filter(
      (problem) =>
        !('resolutionKind' in problem) || !ESM_ONLY_IGNORED_RESOLUTIONS.has(problem.resolutionKind),
    );
    expect(problems).toEqual([]);
  });
});
