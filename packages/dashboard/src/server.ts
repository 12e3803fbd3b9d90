/**
 * `tasq dashboard`: the dashboard on a node:http server of its own. It refuses to start without a
 * password unless it listens on a loopback address and is told `noAuth`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResolvedConfig } from '@tasq/core';
import { createDashboard, DashboardConfigError, type DashboardOptions } from './dashboard.js';

export interface StartDashboardOptions extends Omit<DashboardOptions, 'basePath'> {
  /** Default: the configuration's dashboard.host, else 127.0.0.1. */
  host?: string;
  /** Default: the configuration's dashboard.port, else 7077; 0 picks a free port. */
  port?: number;
}

export interface RunningDashboard {
  /** Where it listens, e.g. http://127.0.0.1:7077/ */
  url: string;
  server: Server;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startDashboard(
  config: ResolvedConfig,
  options: StartDashboardOptions = {},
): Promise<RunningDashboard> {
  const host = options.host ?? config.dashboard.host;
  const port = options.port ?? config.dashboard.port;
  if (options.noAuth && !isLoopback(host))
    throw new DashboardConfigError(
      `--no-auth is allowed only on a loopback address (127.0.0.1, ::1, localhost), not on "${host}": anyone who reaches ${host} could act on the deployment`,
    );
  const { host: _host, port: _port, ...dashboardOptions } = options;
  const dashboard = await createDashboard(config, dashboardOptions);
  const server = createServer(dashboard.handler);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await dashboard.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    server,
    close: async () => {
      await dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
