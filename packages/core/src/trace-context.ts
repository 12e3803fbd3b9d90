/**
 * OpenTelemetry context through task packages, when the application has `@opentelemetry/api` installed
 * and has registered an SDK with it (an optional peer: nothing here loads or costs anything before). The client writes the active span
 * as a W3C `traceparent` into each package it builds; the worker runs the task inside a span whose parent
 * is that context, so a trace continues from the code that enqueued into the task. Spans are recorded by
 * whatever SDK the application registers (in worker processes too: load it with `--import`).
 */
import { createRequire } from 'node:module';
import type { TaskResult } from './result-backend.js';
import type { TaskPackage } from './task-package.js';

/** The parts of `@opentelemetry/api` used here. */
interface SpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
}
interface Span {
  spanContext(): SpanContext;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}
interface OpenTelemetryApi {
  context: { active(): unknown };
  trace: {
    getSpan(context: unknown): Span | undefined;
    setSpanContext(context: unknown, spanContext: SpanContext): unknown;
    getTracer(
      name: string,
      version?: string,
    ): {
      startActiveSpan<T>(
        name: string,
        options: { kind?: number; attributes?: Record<string, string | number> },
        context: unknown,
        fn: (span: Span) => T,
      ): T;
    };
  };
  isSpanContextValid(spanContext: SpanContext): boolean;
}

const OPENTELEMETRY_API = '@opentelemetry/api';
/** SpanKind.CONSUMER and SpanStatusCode.ERROR in @opentelemetry/api. */
const CONSUMER = 4;
const ERROR = 2;
/**
 * Where @opentelemetry/api 1.x keeps what was registered with it (context manager, tracer provider,
 * propagator), shared by every copy of the API in the process.
 */
const OPENTELEMETRY_GLOBAL = Symbol.for('opentelemetry.js.api.1');

const require = createRequire(import.meta.url);
/** The API once something registered with OpenTelemetry; `false` when it cannot be loaded. */
let loadedApi: OpenTelemetryApi | false | undefined;

/**
 * @opentelemetry/api, loaded the first time it has something to work with. Until an SDK registers there
 * is no span to propagate and nothing records one, and loading the API costs about 13 MB of memory in
 * every process (each worker among them) and a no-op span per task.
 */
function openTelemetry(): OpenTelemetryApi | undefined {
  if (loadedApi !== undefined) return loadedApi || undefined;
  if ((globalThis as Record<symbol, unknown>)[OPENTELEMETRY_GLOBAL] === undefined) return undefined;
  try {
    // A variable specifier: bundlers and the type checker leave the optional peer alone.
    const module = require(OPENTELEMETRY_API) as OpenTelemetryApi & { default?: OpenTelemetryApi };
    loadedApi = (typeof module.trace?.getSpan === 'function' ? module : module.default) ?? false;
  } catch {
    loadedApi = false;
  }
  return loadedApi || undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The active span as a W3C traceparent (`00-<trace id>-<span id>-<flags>`), or undefined. */
export function currentTraceparent(): string | undefined {
  const api = openTelemetry();
  if (!api) return undefined;
  const spanContext = api.trace.getSpan(api.context.active())?.spanContext();
  if (!spanContext || !api.isSpanContextValid(spanContext)) return undefined;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}

/** A traceparent's parts, or undefined when it is not a valid version-00 traceparent. */
export function parseTraceparent(
  value: string,
): { traceId: string; spanId: string; traceFlags: number } | undefined {
  const match = TRACEPARENT.exec(value);
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return undefined;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16) };
}

/**
 * Run one attempt of a task inside a consumer span named `task <name>`, child of the package's
 * traceparent when it has one. Without `@opentelemetry/api` this is `run()`.
 */
export function runInTaskSpan<R extends Pick<TaskResult, 'status' | 'error'>>(
  pkg: TaskPackage,
  attempt: number,
  run: () => Promise<R>,
): Promise<R> {
  const api = openTelemetry();
  if (!api) return run();
  const remote = pkg.traceparent !== undefined ? parseTraceparent(pkg.traceparent) : undefined;
  const parent = remote
    ? api.trace.setSpanContext(api.context.active(), { ...remote, isRemote: true })
    : api.context.active();
  const tracer = api.trace.getTracer('tasq');
  return tracer.startActiveSpan(
    `task ${pkg.name}`,
    {
      kind: CONSUMER,
      attributes: {
        'messaging.system': 'tasq',
        'messaging.destination.name': pkg.queue,
        'messaging.message.id': pkg.id,
        'tasq.task.name': pkg.name,
        'tasq.attempt': attempt,
      },
    },
    parent,
    async (span) => {
      try {
        const result = await run();
        if (result.status === 'failure') {
          span.setStatus({
            code: ERROR,
            message: `${result.error?.name ?? 'Error'}: ${result.error?.message ?? ''}`,
          });
        }
        return result;
      } finally {
        span.end();
      }
    },
  );
}
