/**
 * The Sentry error reporter: a private Sentry client, never the process-wide one.
 *
 * An application that runs tasq may well have its own `Sentry.init()` (its own DSN, integrations,
 * scopes). This reporter therefore never calls `Sentry.init`, never sets the current client and never
 * calls `NodeClient.init()`: in @sentry/node 11 that method installs a process-wide async context
 * strategy, replacing the one the application's SDK set up (an OpenTelemetry-based one, say). With no
 * integrations configured, `init()` has nothing else to do, and a client with a transport captures
 * events without it (the tests check this against a recording server). Events are captured
 * on scopes owned by the reporter, so the application's tags, user and breadcrumbs do not leak into
 * task reports and the reporter's tags do not leak into the application's events.
 */
import {
  defaultStackParser,
  makeNodeTransport,
  NodeClient,
  Scope,
  type StackFrame,
  withIsolationScope,
} from '@sentry/node';
import type { ErrorReporter, ErrorReporterContext, Logger, TaskFailureReport } from '@tasq/core';
import { DeliveryLog, dsnDestination } from './sentry-delivery.js';
import { buildFailureEvent } from './sentry-event.js';
import type { ResolvedSentryReporterOptions } from './sentry-options.js';

/**
 * How deep the SDK walks event data before it writes "[Object]" (its default is 3, which would hide
 * most of a task's arguments). Must not exceed the depth core's `redact` walks (8): data deeper than
 * redaction reaches is then cut by the SDK instead of being sent unredacted (a test checks this).
 */
const NORMALIZE_DEPTH = 8;

export class SentryReporter implements ErrorReporter {
  readonly name = 'sentry';
  /** The private client; exposed for applications that want to add event processors or hooks. */
  readonly client: NodeClient;
  private readonly scope: Scope;
  private readonly isolationScope: Scope;
  private readonly options: ResolvedSentryReporterOptions;
  private readonly logger: Logger;
  private readonly deliveries: DeliveryLog;

  constructor(options: ResolvedSentryReporterOptions, context: ErrorReporterContext) {
    this.options = options;
    this.logger = context.logger;
    this.client = new NodeClient({
      dsn: options.dsn,
      environment: options.environment,
      release: options.release,
      sampleRate: options.sampleRate,
      transport: makeNodeTransport,
      stackParser: defaultStackParser,
      // No integrations: they hook process-wide state (uncaught exception handlers, console, http),
      // which belongs to the application.
      integrations: [],
      // The load-time module hooks are process-wide too, and only serve integrations.
      enableRuntimeChannelInjection: false,
      // The reporter records no spans; "static" keeps the SDK from adding its span-streaming integration.
      traceLifecycle: 'static',
      normalizeDepth: NORMALIZE_DEPTH,
      maxBreadcrumbs: 0,
      sendClientReports: false,
    });
    this.scope = new Scope();
    this.scope.setClient(this.client);
    this.scope.setTags(options.tags);
    this.isolationScope = new Scope();
    this.deliveries = new DeliveryLog(context.logger, dsnDestination(options.dsn));
    this.client.on('afterSendEvent', (_event, response) => this.deliveries.sent(response.statusCode));
  }

  /** Send one failed attempt to Sentry. Never throws: a reporting problem is logged, the task goes on. */
  report(failure: TaskFailureReport): void {
    try {
      const event = buildFailureEvent(
        failure,
        { sendArgs: this.options.sendArgs, redactKeys: this.options.redactKeys },
        parseRemoteStack,
      );
      // The isolation scope is the reporter's own for the duration of the (synchronous) capture, so
      // the client neither reads the application's isolation scope (its tags, user, breadcrumbs) nor
      // marks the application's current request session as crashed because a task failed.
      withIsolationScope(this.isolationScope, () => {
        this.client.captureEvent(event, undefined, this.scope);
      });
    } catch (error) {
      this.logger.warn(
        { err: error, task: failure.task, jobId: failure.jobId },
        'sentry error reporter: could not build or queue the event',
      );
    }
  }

  /** Wait until queued events are sent, at most `timeoutMs`. Logs (does not throw) when time runs out. */
  async flush(timeoutMs: number): Promise<void> {
    try {
      const done = await this.client.flush(timeoutMs);
      this.deliveries.summarize();
      if (!done) {
        this.logger.warn(
          { timeoutMs },
          'sentry error reporter: some events were not sent before the flush timeout',
        );
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'sentry error reporter: flush failed');
    }
  }

  /** Flush, then release the client's resources (its transport and process listeners). */
  async close(timeoutMs: number): Promise<void> {
    try {
      await this.client.close(timeoutMs);
    } catch (error) {
      this.logger.warn({ err: error }, 'sentry error reporter: close failed');
    }
  }
}

/**
 * A worker's stack string as Sentry frames. The first line ("TypeError: message") is not a frame;
 * the parser skips it along with anything else that does not look like "    at ...".
 */
function parseRemoteStack(stack: string): StackFrame[] {
  return defaultStackParser(stack);
}
