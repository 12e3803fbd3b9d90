/**
 * The health probe (`tasq cluster --health-port`): 200 while the cluster consumes, 503 once it has stopped
 * consuming. "Consuming" means a reserve answered (with or without packages) or a run finished within
 * `staleMs`, and at least one worker is up. A broker that drops the connection briefly does not flip the
 * probe; a cluster whose fetcher is stuck, whose workers are all gone, or that is stopping does.
 */
import { createServer, type Server } from 'node:http';
import type { ListenAddress } from '@tasq/core/internal';
import type { Sentinel } from './sentinel.js';

export interface HealthReport {
  healthy: boolean;
  reason: string;
  lastProgressMsAgo: number;
  workers: number;
  held: { buffered: number; running: number; total: number };
  stats: Sentinel['stats'];
}

export function healthOf(sentinel: Sentinel, now: number, staleMs: number): HealthReport {
  const ago = now - sentinel.lastProgressAt;
  const workers = sentinel.workerInfo().filter((w) => !w.retiring).length;
  const held = sentinel.heldCount();
  let reason = 'consuming';
  let healthy = true;
  if (sentinel.isStopping) {
    healthy = false;
    reason = 'stopping';
  } else if (workers === 0) {
    healthy = false;
    reason = 'no worker is running';
  } else if (ago > staleMs) {
    healthy = false;
    reason = `no reserve answered and no task finished for ${Math.round(ago / 1000)} s`;
  }
  return { healthy, reason, lastProgressMsAgo: ago, workers, held, stats: sentinel.stats };
}

/** Serve the report at `address` (GET /, /health or /healthz): 200 while healthy, 503 otherwise. */
export function startHealthServer(address: ListenAddress, report: () => HealthReport): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url !== '/' && request.url !== '/health' && request.url !== '/healthz') {
      response.writeHead(404).end();
      return;
    }
    const body = report();
    response.writeHead(body.healthy ? 200 : 503, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
