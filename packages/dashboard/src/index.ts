/**
 * @tasq/dashboard: a web dashboard for a tasq deployment. Run it with `tasq dashboard`, or mount
 * `createDashboard(config).handler` in a node:http, Express, Fastify or Hono server.
 */
export { type Dashboard, DashboardConfigError, type DashboardOptions, createDashboard } from './dashboard.js';
export { isLoopback, type RunningDashboard, type StartDashboardOptions, startDashboard } from './server.js';
export type { Credentials, Role } from './auth/passwords.js';
export type { LoginLimiterOptions } from './auth/login-limiter.js';
export type { LivePoint } from './live/aggregator.js';
export type { ClusterSummary } from './live/cluster-directory.js';
export type { LiveMessage, LiveSummary } from './live/live-feed.js';
