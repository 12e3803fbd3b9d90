/**
 * A Node.js older than tasq supports, to run a package or the CLI under as a user with an old Node would
 * (the message tasq gives must name the version needed and the one running). Looked for on PATH and in
 * the usual system places; undefined when this machine has none.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isNodeTooOld } from '@tasq/core/internal';

export interface OlderNode {
  path: string;
  /** As `process.versions.node` says it: "20.20.2". */
  version: string;
}

export function findOlderNode(): OlderNode | undefined {
  const candidates = new Set([
    ...(process.env.PATH ?? '').split(path.delimiter).map((folder) => path.join(folder, 'node')),
    '/usr/bin/node',
    '/usr/local/bin/node',
  ]);
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    const run = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8', timeout: 10_000 });
    const version = run.stdout?.trim();
    if (run.status === 0 && version && isNodeTooOld(version)) return { path: candidate, version };
  }
  return undefined;
}
