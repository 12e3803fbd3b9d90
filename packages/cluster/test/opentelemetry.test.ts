/**
 * OpenTelemetry through task packages: a job enqueued inside a span runs inside a child span of it (the
 * `traceparent` travels in the signed package), with the job's id, queue and attempt as attributes and an
 * error status when the task fails. The cluster runs the inline pool so the spans are recorded here, by a
 * small tracer provider written against the public @opentelemetry/api interfaces.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import {
  type Context,
  type ContextManager,
  context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFor, type Database, runCluster, sqliteDatabase } from './support.js';

class StorageContextManager implements ContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    scope: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(scope, () => fn.call(thisArg, ...args));
  }
  bind<T>(_scope: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

interface RecordedSpan {
  name: string;
  kind?: number;
  context: SpanContext;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  status?: { code: number; message?: string };
  ended: boolean;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const recorded: RecordedSpan[] = [];

const tracer: Tracer = {
  startSpan(name: string, options: SpanOptions = {}, parentContext: Context = context.active()): Span {
    const parent = trace.getSpanContext(parentContext);
    const record: RecordedSpan = {
      name,
      kind: options.kind,
      context: { traceId: parent?.traceId ?? hex(16), spanId: hex(8), traceFlags: 1 },
      ...(parent ? { parentSpanId: parent.spanId } : {}),
      attributes: { ...options.attributes },
      ended: false,
    };
    recorded.push(record);
    const span: Span = {
      spanContext: () => record.context,
      setAttribute: (key, value) => {
        record.attributes[key] = value;
        return span;
      },
      setAttributes: (attributes) => {
        Object.assign(record.attributes, attributes);
        return span;
      },
      addEvent: () => span,
      addLink: () => span,
      addLinks: () => span,
      setStatus: (status) => {
        record.status = status;
        return span;
      },
      updateName: (newName) => {
        record.name = newName;
        return span;
      },
      end: () => {
        record.ended = true;
      },
      isRecording: () => !record.ended,
      recordException: () => {},
    };
    return span;
  },
  startActiveSpan(name: string, ...rest: unknown[]) {
    const fn = rest.pop() as (span: Span) => unknown;
    const [options, parentContext] = rest as [SpanOptions | undefined, Context | undefined];
    const base = parentContext ?? context.active();
    const span = this.startSpan(name, options, base);
    return context.with(trace.setSpan(base, span), fn, undefined, span);
  },
} as Tracer;

describe('OpenTelemetry context through task packages', () => {
  let database: Database;
  beforeAll(() => {
    database = sqliteDatabase();
    context.setGlobalContextManager(new StorageContextManager());
    trace.setGlobalTracerProvider({ getTracer: () => tracer });
  });
  afterAll(async () => {
    trace.disable();
    context.disable();
    await database.cleanup();
  });

  it('runs each task in a span whose parent is the span that enqueued it', async () => {
    const cluster = await runCluster(configFor(database, { pool: 'inline', maxAttempts: 1 }));
    try {
      const app = trace.getTracer('app');
      const { outer, ok, bad } = await app.startActiveSpan('handle request', async (span) => {
        const ok = await cluster.tasq.enqueueByName('test.add', [1, 2]);
        const bad = await cluster.tasq.enqueueByName('test.broken', []);
        span.end();
        return { outer: span.spanContext(), ok, bad };
      });
      const untraced = await cluster.tasq.enqueueByName('test.add', [3, 4]);
      expect(await ok.result({ timeout: 10_000 })).toBe(3);
      expect((await bad.outcome(10_000))?.status).toBe('failure');
      expect(await untraced.result({ timeout: 10_000 })).toBe(7);

      const taskSpan = (id: string) => recorded.find((s) => s.attributes['messaging.message.id'] === id);
      expect(taskSpan(ok.id)).toMatchObject({
        name: 'task test.add',
        kind: 4,
        parentSpanId: outer.spanId,
        context: { traceId: outer.traceId },
        attributes: {
          'messaging.system': 'tasq',
          'messaging.destination.name': cluster.config.queue,
          'tasq.attempt': 1,
        },
        ended: true,
      });
      expect(taskSpan(ok.id)?.status).toBeUndefined();
      expect(taskSpan(bad.id)).toMatchObject({
        parentSpanId: outer.spanId,
        status: { code: 2, message: 'TypeError: this task always fails' },
      });
      expect(taskSpan(untraced.id)?.context.traceId).not.toBe(outer.traceId);
      expect(taskSpan(untraced.id)?.parentSpanId).toBeUndefined();
    } finally {
      await cluster.stop();
    }
  });
});
