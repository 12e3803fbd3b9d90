/**
 * The published packages as a user receives them: every non-private package under packages/, packed
 * with pnpm (which turns `workspace:^` into a version range) into one folder of tarballs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const repositoryRoot = path.resolve(import.meta.dirname, '../../..');

export interface PublishedPackage {
  name: string;
  folder: string;
}

export function publishedPackages(): PublishedPackage[] {
  const packagesFolder = path.join(repositoryRoot, 'packages');
  return readdirSync(packagesFolder)
    .map((entry) => path.join(packagesFolder, entry))
    .map((folder) => ({
      folder,
      manifest: JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as {
        name: string;
        private?: boolean;
      },
    }))
    .filter(({ manifest }) => !manifest.private)
    .map(({ folder, manifest }) => ({ name: manifest.name, folder }));
}

/** pnpm as this run was started (`pnpm test` sets npm_execpath), else through npx. */
function pnpm(args: string[], cwd: string): void {
  const execPath = process.env.npm_execpath;
  if (execPath && /pnpm/.test(path.basename(execPath)))
    execFileSync(process.execPath, [execPath, ...args], { cwd, stdio: 'ignore' });
  else execFileSync('npx', ['-y', 'pnpm@10', ...args], { cwd, stdio: 'ignore' });
}

/** Pack every published package; returns the tarball of each package name. */
export function packAll(): Record<string, string> {
  const destination = mkdtempSync(path.join(tmpdir(), 'tasq-packs-'));
  pnpm(['-r', '--filter', './packages/*', 'pack', '--pack-destination', destination], repositoryRoot);
  const tarballs: Record<string, string> = {};
  for (const { name } of publishedPackages()) {
    const file = path.join(destination, `${name.replace('@', '').replace('/', '-')}-${versionOf(name)}.tgz`);
    tarballs[name] = file;
  }
  return tarballs;
}

function versionOf(name: string): string {
  const found = publishedPackages().find((entry) => entry.name === name)!;
  return (JSON.parse(readFileSync(path.join(found.folder, 'package.json'), 'utf8')) as { version: string })
    .version;
}
