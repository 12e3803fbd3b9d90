/**
 * The browser's files: the page script and style shipped in this package's `static/`, and uPlot's
 * minified build and style from its own package. Read once, then served from memory.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

const FILES: Record<string, { path: () => string; type: string }> = {
  'dashboard.js': {
    path: () => fileURLToPath(new URL('../../static/dashboard.js', import.meta.url)),
    type: 'text/javascript; charset=utf-8',
  },
  'dashboard.css': {
    path: () => fileURLToPath(new URL('../../static/dashboard.css', import.meta.url)),
    type: 'text/css; charset=utf-8',
  },
  'uPlot.min.js': {
    path: () => require.resolve('uplot/dist/uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  'uPlot.min.css': {
    path: () => require.resolve('uplot/dist/uPlot.min.css'),
    type: 'text/css; charset=utf-8',
  },
};

const cache = new Map<string, Buffer>();

export function staticFileNames(): string[] {
  return Object.keys(FILES);
}

/** Serve `name` if it is one of the files; false when it is not. */
export function serveStatic(name: string, res: ServerResponse): boolean {
  const file = FILES[name];
  if (!file) return false;
  let body = cache.get(name);
  if (!body) {
    body = readFileSync(file.path());
    cache.set(name, body);
  }
  res.writeHead(200, {
    'content-type': file.type,
    'content-length': String(body.length),
    'cache-control': 'private, max-age=300',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
  return true;
}
