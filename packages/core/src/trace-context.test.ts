/**
 * @opentelemetry/api is installed in this workspace (a dev dependency), as it may be in an application
 * that never registers an SDK: the API must then stay unloaded (it costs ~13 MB per process) until
 * something registers with it. Checked in a fresh Node process running the built package.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const built = fileURLToPath(new URL('../dist/internal.js', import.meta.url));

function run(script: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
}

/** Records every module resolution naming @opentelemetry, by import() or require() alike. */
const watchResolutions = `
  const resolved = [];
  (await import('node:module')).registerHooks({
    resolve(specifier, context, next) {
      if (specifier.includes('@opentelemetry')) resolved.push(specifier);
      return next(specifier, context);
    },
  });
`;

describe('OpenTelemetry stays unloaded until an SDK registers', () => {
  it('loads nothing for a process that enqueues without OpenTelemetry', () => {
    const out = run(`
      ${watchResolutions}
      const core = await import(${JSON.stringify(built)});
      console.log(core.currentTraceparent() === undefined, resolved.length > 0);
    `);
    expect(out).toBe('true false');
  });

  it('finds the active span once a context manager and a span are registered', () => {
    const out = run(`
      const core = await import(${JSON.stringify(built)});
      const { AsyncLocalStorage } = await import('node:async_hooks');
      const api = (await import('node:module')).createRequire(${JSON.stringify(built)})('@opentelemetry/api');
      const storage = new AsyncLocalStorage();
      api.context.setGlobalContextManager({
        active: () => storage.getStore() ?? api.ROOT_CONTEXT,
        with: (scope, fn, thisArg, ...args) => storage.run(scope, () => fn.call(thisArg, ...args)),
        bind: (_scope, target) => target,
        enable() { return this; },
        disable() { return this; },
      });
      const spanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };
      const inSpan = api.context.with(api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext), () => core.currentTraceparent());
      console.log(inSpan);
    `);
    expect(out).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });
});
