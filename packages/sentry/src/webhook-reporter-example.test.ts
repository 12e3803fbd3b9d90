/**
 * The README's "write your own reporter" example, run for real: it is kept in
 * test-support/webhook-reporter.ts and the README must show exactly that file.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { loadErrorReporter } from '@tasq/core/internal';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { failureReport, recordingLogger } from './test-support/failure.js';

const exampleFile = fileURLToPath(new URL('./test-support/webhook-reporter.ts', import.meta.url));
const readme = fileURLToPath(new URL('../README.md', import.meta.url));

let server: Server;
let received: { contentType: string | undefined; body: unknown }[];
let url: string;

beforeEach(async () => {
  received = [];
  server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push({
      contentType: request.headers['content-type'],
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
    });
    response.writeHead(request.url === '/refuse' ? 503 : 204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

it('is the code the README shows', () => {
  const example = readFileSync(exampleFile, 'utf8').trim();
  const blocks = [...readFileSync(readme, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((match) =>
    match[1]?.trim(),
  );
  expect(blocks).toContain(example);
});

it('posts each failure to the webhook, loaded the way the cluster loads reporters', async () => {
  const { reporter, wantsArgs } = await loadErrorReporter(
    { module: exampleFile, options: { url: `${url}/hook` } },
    recordingLogger(),
  );
  expect(reporter.name).toBe('webhook');
  expect(wantsArgs).toBe(false);

  reporter.report(failureReport({ final: true }));
  await reporter.flush?.(5_000);
  expect(received).toHaveLength(1);
  expect(received[0]?.contentType).toBe('application/json');
  expect(received[0]?.body).toMatchObject({
    task: 'billing.charge',
    final: true,
    error: { name: 'TypeError' },
  });
});

it('logs a refused report instead of throwing', async () => {
  const logger = recordingLogger();
  const { reporter } = await loadErrorReporter(
    { module: exampleFile, options: { url: `${url}/refuse` } },
    logger,
  );
  reporter.report(failureReport());
  await reporter.flush?.(5_000);
  expect(logger.records).toEqual([{ level: 'warn', fields: { status: 503 }, message: 'webhook refused' }]);
});
