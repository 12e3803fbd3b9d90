/**
 * `tasq dashboard`: serve the web dashboard of this deployment. The page itself lives in
 * `@tasq/dashboard`, loaded only here (from the project, else next to this package), so a cluster that
 * never serves it does not install it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type CommandIo, commonHelp, parse, positiveInteger, readConfig } from './common.js';
import { UsageError } from './errors.js';

export const dashboardHelp = `Usage: tasq dashboard [options]

Serve the web dashboard of this deployment (needs the @tasq/dashboard package): clusters and workers,
live throughput, queues, schedules. Every page asks for a password: set dashboard.password (operator)
and dashboard.viewerPassword (read only) in the configuration, or TASQ_DASHBOARD_PASSWORD and
TASQ_DASHBOARD_VIEWER_PASSWORD. Prints each sign-in and action as a JSON line (also sent to
tasq events as dashboard-action). Runs until Ctrl-C.

Options:
      --host H       interface to listen on (default: dashboard.host, else 127.0.0.1)
      --port P       port to listen on (default: dashboard.port, else 7077; 0 picks a free one)
      --no-auth      no password: only on a loopback address (127.0.0.1, ::1, localhost)
${commonHelp}`;

/** The part of @tasq/dashboard this command uses. */
interface DashboardModule {
  startDashboard(
    config: unknown,
    options: {
      host?: string;
      port?: number;
      noAuth?: boolean;
      cwd?: string;
      onAction?: (event: unknown) => void;
    },
  ): Promise<{ url: string; close(): Promise<void> }>;
}

export async function dashboardCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, {
    host: { type: 'string' },
    port: { type: 'string' },
    'no-auth': { type: 'boolean' },
  });
  if (values.help) {
    io.out(dashboardHelp);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const port = values.port === '0' ? 0 : positiveInteger(values.port, '--port');
  if (port !== undefined && port > 65_535) throw new UsageError(`--port must be at most 65535, got ${port}`);
  const config = await readConfig(values, io);
  const dashboard = await loadDashboard(io.cwd);
  const server = await dashboard.startDashboard(config, {
    cwd: io.cwd,
    // The audit trail in the dashboard's own output too, also where the broker has no pub/sub.
    onAction: (event) => io.out(JSON.stringify(event)),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(values['no-auth'] ? { noAuth: true } : {}),
  });
  io.out(`tasq dashboard: ${server.url}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  return 0;
}

async function loadDashboard(cwd: string): Promise<DashboardModule> {
  for (const from of [path.join(cwd, 'package.json'), import.meta.url]) {
    let resolved: string;
    try {
      resolved = createRequire(from).resolve('@tasq/dashboard');
    } catch {
      continue;
    }
    return (await import(pathToFileURL(resolved).href)) as DashboardModule;
  }
  throw new UsageError(
    'tasq dashboard needs the @tasq/dashboard package: install it next to @tasq/cluster (npm install @tasq/dashboard)',
  );
}
