/**
 * A PostgreSQL server of this test's own: a fresh data folder, a spare port, started and stopped at will.
 * Fault tests restart it; the shared server on 5432 is never touched.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@tasq/testing';

const run = promisify(execFile);

/** The folder holding initdb and pg_ctl, or undefined when no PostgreSQL server binaries are installed. */
export function postgresBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((entry) => existsSync(path.join(root, entry, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/** Rejects when this process cannot start a server: as root that needs a `postgres` user to run it as. */
export async function canRunPostgres(): Promise<void> {
  if (process.getuid?.() === 0) await run('id', ['-u', 'postgres']);
}

export class PostgresServer {
  private constructor(
    private readonly binaries: string,
    private readonly folder: string,
    readonly port: number,
  ) {}

  /** PostgreSQL refuses to run as root: run its tools as the `postgres` user then. */
  private command(tool: string, args: string[]) {
    const executable = path.join(this.binaries, tool);
    return process.getuid?.() === 0
      ? run('runuser', ['-u', 'postgres', '--', executable, ...args])
      : run(executable, args);
  }

  static async create(binaries: string): Promise<PostgresServer> {
    const folder = mkdtempSync(path.join(tmpdir(), 'tasq-orm-postgres-'));
    const server = new PostgresServer(binaries, folder, await freePort());
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: group } = await run('id', ['-g', 'postgres']);
      chownSync(folder, Number(stdout.trim()), Number(group.trim()));
    }
    await server.command('initdb', [
      '-D',
      path.join(folder, 'data'),
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
    ]);
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    await this.command('pg_ctl', [
      '-D',
      path.join(this.folder, 'data'),
      '-o',
      `-p ${this.port} -k ${this.folder} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-l',
      path.join(this.folder, 'server.log'),
      '-w',
      'start',
    ]);
  }

  /** A fast shutdown: the server ends every connection and stops. */
  async stop(): Promise<void> {
    await this.command('pg_ctl', ['-D', path.join(this.folder, 'data'), '-m', 'fast', '-w', 'stop']);
  }

  async remove(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.folder, { recursive: true, force: true });
  }
}
