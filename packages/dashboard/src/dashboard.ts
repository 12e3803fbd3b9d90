/**
 * The dashboard as one request handler, `(req, res)`, for node:http and anything that can hand it the
 * Node request (Express, Fastify, Hono on @hono/node-server). Every page and API answers only to a
 * signed-in session; every action also needs the session's CSRF token and the operator role, and is
 * recorded on the event stream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DashboardActionEvent, type ResolvedConfig, Tasq } from '@tasq/core';
import {
  addSchedule,
  CLUSTER_ACTIONS,
  type ClusterAction,
  controlCluster,
  purgeQueue,
  SCHEDULE_ACTIONS,
  type ScheduleAction,
  scheduleAction,
} from './actions.js';
import { AuditTrail } from './audit.js';
import { readCookie, SESSION_COOKIE, sessionCookie } from './auth/cookies.js';
import { LoginLimiter, type LoginLimiterOptions } from './auth/login-limiter.js';
import { type Credentials, roleFor, samePassword } from './auth/passwords.js';
import { type Session, SessionStore } from './auth/sessions.js';
import { Deployment } from './deployment.js';
import { DEFAULT_BODY_LIMIT, type Fields, readFields } from './http/body.js';
import { HttpError } from './http/errors.js';
import { redirect, sendHtml, sendJson } from './http/respond.js';
import { serveStatic } from './http/static-files.js';
import { adminActionRoute, showJobPages } from './jobs/job-routes.js';
import { LiveFeed } from './live/live-feed.js';
import { clustersBody } from './pages/clusters.js';
import { errorBody } from './pages/error.js';
import { layout, type PageContext } from './pages/layout.js';
import { loginPage } from './pages/login.js';
import { overviewBody } from './pages/overview.js';
import { type PauseFlags, queuesBody } from './pages/queues.js';
import { schedulesBody } from './pages/schedules.js';
import { runtimeServicesOf } from '@tasq/core/internal';

export interface DashboardOptions {
  /** Where it is mounted, e.g. "/admin/tasq". Default "" (the server's root). */
  basePath?: string;
  /**
   * No sign-in: every request acts as operator. Only requests that arrive on a loopback address are
   * answered; others get 403.
   */
  noAuth?: boolean;
  /** Passwords; default: the configuration's `dashboard` section (and TASQ_DASHBOARD_* variables). */
  credentials?: Credentials;
  /** Failed sign-ins allowed per client address. Default 5 a minute. */
  loginLimit?: LoginLimiterOptions;
  /** Largest request body accepted. Default 16 KB. */
  maxBodyBytes?: number;
  /** Where broker packages are resolved from. Default process.cwd(). */
  cwd?: string;
  /** Called with each recorded action (besides publishing it on the event stream). */
  onAction?: (event: DashboardActionEvent) => void;
}

export interface Dashboard {
  /** Mount this. `next` is accepted for Express and never called: every path under basePath is answered. */
  handler: (req: IncomingMessage, res: ServerResponse, next?: unknown) => void;
  readonly basePath: string;
  /** Stop the live feed and close what the dashboard opened. */
  close(): Promise<void>;
}

/** Thrown when the dashboard would start open to anyone. */
export class DashboardConfigError extends Error {
  override name = 'DashboardConfigError';
}

export async function createDashboard(
  source: ResolvedConfig | Tasq,
  options: DashboardOptions = {},
): Promise<Dashboard> {
  const config = source instanceof Tasq ? source.config : source;
  const credentials: Credentials = options.credentials ?? {
    ...(config.dashboard.password !== undefined ? { operator: config.dashboard.password } : {}),
    ...(config.dashboard.viewerPassword !== undefined ? { viewer: config.dashboard.viewerPassword } : {}),
  };
  if (!options.noAuth && credentials.operator === undefined && credentials.viewer === undefined) {
    throw new DashboardConfigError(
      'the dashboard has no password: set dashboard.password (and dashboard.viewerPassword) in the configuration, or TASQ_DASHBOARD_PASSWORD / TASQ_DASHBOARD_VIEWER_PASSWORD; only on a loopback address may it run without one (--no-auth)',
    );
  }
  if (credentials.operator !== undefined && credentials.operator === credentials.viewer)
    throw new DashboardConfigError('the operator and viewer passwords are the same; make them differ');
  const basePath = normalizeBase(options.basePath ?? '');
  const deployment = await Deployment.open(source, options.cwd);
  const feed = new LiveFeed(deployment);
  try {
    await feed.start();
  } catch (error) {
    await feed.close();
    await deployment.close();
    throw error;
  }
  const app = new DashboardApp(deployment, feed, {
    basePath,
    credentials,
    noAuth: options.noAuth ?? false,
    sessions: new SessionStore(config.dashboard.sessionTtlMs),
    limiter: new LoginLimiter(options.loginLimit),
    audit: new AuditTrail(deployment, options.onAction),
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_BODY_LIMIT,
  });
  return {
    basePath,
    handler: (req, res) => {
      app.handle(req, res).catch((error) => app.fail(req, res, error));
    },
    close: async () => {
      await feed.close();
      await deployment.close();
    },
  };
}

function normalizeBase(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  if (trimmed === '') return '';
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(trimmed))
    throw new DashboardConfigError(`basePath must be a path like "/admin/tasq", got "${base}"`);
  return trimmed;
}

interface AppSettings {
  basePath: string;
  credentials: Credentials;
  noAuth: boolean;
  sessions: SessionStore;
  limiter: LoginLimiter;
  audit: AuditTrail;
  maxBodyBytes: number;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

class DashboardApp {
  constructor(
    private readonly deployment: Deployment,
    private readonly feed: LiveFeed,
    private readonly settings: AppSettings,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { basePath: base } = this.settings;
    const full = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    let pathname: string;
    let search: URLSearchParams;
    try {
      const url = new URL(full, 'http://dashboard');
      pathname = decodeURI(url.pathname);
      search = url.searchParams;
    } catch {
      throw new HttpError(400, 'the request path is malformed');
    }
    if (base !== '' && pathname !== base && !pathname.startsWith(`${base}/`))
      throw new HttpError(404, `nothing here: the dashboard answers under ${base}/`);
    const path = pathname.slice(base.length) || '/';
    const method = req.method ?? 'GET';

    if (path.startsWith('/static/') && (method === 'GET' || method === 'HEAD')) {
      if (serveStatic(path.slice('/static/'.length), res)) return;
      throw new HttpError(404, `no file ${path}`);
    }
    if (
      this.settings.noAuth &&
      !(LOOPBACK.test(req.socket.localAddress ?? '') && LOOPBACK.test(address(req)))
    )
      throw new HttpError(403, 'this dashboard runs without sign-in and answers only on a loopback address');
    if (path === '/login')
      return this.settings.noAuth ? redirect(res, `${base}/`) : this.login(req, res, method);

    const session = this.sessionOf(req, res);
    if (!session) {
      if (method === 'GET' && !path.startsWith('/api/')) return redirect(res, `${base}/login`);
      throw new HttpError(401, 'sign in first');
    }
    if (method === 'POST') return this.act(req, res, session, path);
    if (method !== 'GET' && method !== 'HEAD')
      throw new HttpError(405, `${method} is not allowed here`, { allow: 'GET, POST' });
    return this.show(res, session, path, search);
  }

  fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const status = error instanceof HttpError ? error.status : 500;
    const message =
      error instanceof HttpError
        ? error.message
        : `the dashboard failed: ${(error as Error)?.message ?? String(error)}`;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const headers = error instanceof HttpError ? error.headers : {};
    if (wantsJson(req)) {
      sendJson(res, status, { error: message }, headers);
      return;
    }
    const session = this.peekSession(req);
    if (!session) {
      sendHtml(res, status, loginPage(this.settings.basePath, this.deployment.config.name, message), headers);
      return;
    }
    sendHtml(
      res,
      status,
      layout(
        this.context(session),
        '',
        status === 404 ? 'Not found' : 'Error',
        errorBody(status, message, this.settings.basePath),
      ),
      headers,
    );
  }

  // ----------------------------------------------------------------- sign-in

  private async login(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    const { basePath: base, limiter, sessions, credentials } = this.settings;
    const name = this.deployment.config.name;
    if (method === 'GET' || method === 'HEAD') {
      if (this.peekSession(req)) return redirect(res, `${base}/`);
      return sendHtml(res, 200, loginPage(base, name));
    }
    if (method !== 'POST') throw new HttpError(405, `${method} is not allowed here`, { allow: 'GET, POST' });
    const from = address(req);
    const now = Date.now();
    const wait = limiter.retryAfterMs(from, now);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      return sendHtml(
        res,
        429,
        loginPage(base, name, `Too many failed sign-ins from this address: try again in ${seconds} s.`),
        {
          'retry-after': String(seconds),
        },
      );
    }
    const fields = await readFields(req, this.settings.maxBodyBytes);
    const role = roleFor(fields.password ?? '', credentials);
    if (!role) {
      limiter.fail(from, now);
      await this.settings.audit.record({
        role: 'anonymous',
        address: from,
        action: 'login',
        target: '',
        outcome: 'refused',
        detail: 'wrong password',
      });
      return sendHtml(res, 401, loginPage(base, name, 'Wrong password.'));
    }
    limiter.succeed(from);
    const session = sessions.create(role);
    await this.settings.audit.record({ role, address: from, action: 'login', target: '', outcome: 'ok' });
    redirect(res, `${base}/`, { 'set-cookie': sessionCookie(session.id, base || '/', isTls(req)) });
  }

  private peekSession(req: IncomingMessage): Session | undefined {
    return this.settings.sessions.get(readCookie(req, SESSION_COOKIE));
  }

  /** The request's session; with --no-auth one is made on the first visit (it still carries a CSRF token). */
  private sessionOf(req: IncomingMessage, res: ServerResponse): Session | undefined {
    const session = this.peekSession(req);
    if (session || !this.settings.noAuth) return session;
    const created = this.settings.sessions.create('operator');
    res.setHeader('set-cookie', sessionCookie(created.id, this.settings.basePath || '/', isTls(req)));
    return created;
  }

  // ----------------------------------------------------------------- actions

  private async act(
    req: IncomingMessage,
    res: ServerResponse,
    session: Session,
    path: string,
  ): Promise<void> {
    const { basePath: base, audit } = this.settings;
    const fields = await readFields(req, this.settings.maxBodyBytes);
    const from = address(req);
    const adminRoute = adminActionRoute(path);
    const route = adminRoute ?? actionRoute(path);
    if (!route) throw new HttpError(404, `no action at ${path}`);
    const who = {
      role: this.settings.noAuth ? 'anonymous' : session.role,
      address: from,
      action: route.action,
      target: route.target,
    };
    const token = fields._csrf ?? header(req, 'x-csrf-token') ?? '';
    if (!samePassword(token, session.csrf)) {
      await audit.record({ ...who, outcome: 'refused', detail: 'missing or wrong CSRF token' });
      throw new HttpError(403, 'this action lacks a valid CSRF token: reload the page and try again');
    }
    if (route.action === 'logout') {
      this.settings.sessions.delete(session.id);
      await audit.record({ ...who, outcome: 'ok' });
      return redirect(res, `${base}/login`, {
        'set-cookie': sessionCookie(undefined, base || '/', isTls(req)),
      });
    }
    if (session.role !== 'operator') {
      await audit.record({ ...who, outcome: 'refused', detail: 'viewer role' });
      throw new HttpError(403, 'signed in as viewer: only an operator can do this');
    }
    let detail: string;
    let page: string;
    try {
      if (adminRoute) ({ message: detail, page } = await adminRoute.perform(this.deployment, fields));
      else {
        const fixed = route as ActionRoute;
        detail = await this.run(fixed, fields);
        page = fixed.page;
      }
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      // Bad input changed nothing and is not an attempt worth an event; a failure that was tried is.
      if (status >= 500 || status === 409 || status === 404)
        await audit.record({ ...who, outcome: 'failed', detail: (error as Error).message });
      throw error;
    }
    await audit.record({ ...who, outcome: 'ok', detail });
    if (wantsJson(req)) return sendJson(res, 200, { ok: true, message: detail });
    session.flash = { kind: 'ok', text: detail };
    redirect(res, `${base}${page}`);
  }

  private run(route: ActionRoute, fields: Fields): Promise<string> {
    switch (route.kind) {
      case 'purge':
        return purgeQueue(this.deployment, route.target, fields);
      case 'schedule-add':
        return addSchedule(this.deployment, fields);
      case 'schedule':
        return scheduleAction(this.deployment, route.target, route.verb as ScheduleAction);
      case 'cluster':
        return controlCluster(this.deployment, route.target, route.verb as ClusterAction, fields);
      default:
        throw new HttpError(404, 'no such action');
    }
  }

  // ----------------------------------------------------------------- pages and API

  private context(session: Session): PageContext {
    return {
      base: this.settings.basePath,
      session,
      noAuth: this.settings.noAuth,
      deploymentName: this.deployment.config.name,
    };
  }

  private async show(
    res: ServerResponse,
    session: Session,
    path: string,
    search: URLSearchParams,
  ): Promise<void> {
    const context = this.context(session);
    const now = Date.now();
    const d = this.deployment;
    const pubsub = d.pubsub !== undefined;
    if (await showJobPages(d, context, res, path, search, () => this.queueNames())) return;
    switch (path) {
      case '/api/live':
        return this.feed.follow(res);
      case '/api/overview':
        return sendJson(res, 200, { deployment: d.config.name, pubsub, ...this.feed.history() });
      case '/api/queues': {
        const { supported, paused } = await this.pauseFlags();
        const rows = await this.queueRows();
        return sendJson(res, 200, {
          queues: rows.map((row) => (supported ? { ...row, paused: paused.has(row.queue) } : row)),
        });
      }
      case '/api/schedules':
        return sendJson(res, 200, { schedules: await d.schedules() });
      case '/api/clusters':
        return sendJson(res, 200, await d.clusters());
      case '/': {
        const { summary, clusters } = this.feed.history();
        return sendHtml(
          res,
          200,
          layout(context, '/', 'Overview', overviewBody(context, { summary, clusters, pubsub }, now)),
        );
      }
      case '/queues':
        return sendHtml(
          res,
          200,
          layout(
            context,
            '/queues',
            'Queues',
            queuesBody(
              context,
              await this.queueRows(),
              runtimeServicesOf(d.tasq).broker.name,
              await this.pauseFlags(),
            ),
          ),
        );
      case '/schedules':
        return sendHtml(
          res,
          200,
          layout(
            context,
            '/schedules',
            'Schedules',
            schedulesBody(context, await d.schedules(), d.config.timeZone),
          ),
        );
      case '/clusters': {
        const live = await d.clusters(1_500);
        for (const snapshot of live.clusters) this.feed.directory.ingestSnapshot(snapshot, now);
        return sendHtml(
          res,
          200,
          layout(context, '/clusters', 'Clusters and workers', clustersBody(context, live, now, pubsub)),
        );
      }
      default:
        throw new HttpError(404, `no page at ${path}`);
    }
  }

  /** The deployment's queues and those running clusters consume. */
  private queueNames(): string[] {
    const seen = this.feed.directory.list(Date.now()).flatMap((c) => c.queues);
    return this.deployment.queueNames(seen);
  }

  private async pauseFlags(): Promise<PauseFlags> {
    const { admin } = this.deployment;
    const supported = admin.support().brokerCapabilities.pause;
    return { supported, paused: new Set(supported ? await admin.pausedQueues() : []) };
  }

  private queueRows() {
    return this.deployment.queueSizes(this.queueNames());
  }
}

interface ActionRoute {
  kind: 'logout' | 'purge' | 'schedule-add' | 'schedule' | 'cluster';
  /** For the event: `queue.purge`, `schedule.pause`, `cluster.pool-grow`... */
  action: string;
  target: string;
  verb?: string;
  /** The page to return to. */
  page: string;
}

function actionRoute(path: string): ActionRoute | undefined {
  if (path === '/logout') return { kind: 'logout', action: 'logout', target: '', page: '/login' };
  if (path === '/schedules')
    return { kind: 'schedule-add', action: 'schedule.add', target: '', page: '/schedules' };
  const match = /^\/(queues|schedules|clusters)\/([^/]+)\/([a-z-]+)$/.exec(path);
  if (!match) return undefined;
  const [, section, rawTarget, verb] = match as unknown as [string, string, string, string];
  let target: string;
  try {
    target = decodeURIComponent(rawTarget);
  } catch {
    throw new HttpError(400, 'the name in the path is malformed');
  }
  if (section === 'queues' && verb === 'purge')
    return { kind: 'purge', action: 'queue.purge', target, page: '/queues' };
  if (section === 'schedules' && (SCHEDULE_ACTIONS as readonly string[]).includes(verb))
    return { kind: 'schedule', action: `schedule.${verb}`, target, verb, page: '/schedules' };
  if (section === 'clusters' && (CLUSTER_ACTIONS as readonly string[]).includes(verb))
    return { kind: 'cluster', action: `cluster.${verb}`, target, verb, page: '/clusters' };
  return undefined;
}

function address(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isTls(req: IncomingMessage): boolean {
  return Boolean((req.socket as { encrypted?: boolean }).encrypted);
}

function wantsJson(req: IncomingMessage): boolean {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  return /\/api\//.test(url) || (header(req, 'accept') ?? '').includes('application/json');
}
