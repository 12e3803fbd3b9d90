/**
 * A stand-in for Sentry's ingest: an HTTP server on 127.0.0.1 that records every envelope the SDK
 * posts, decoded into its items, and answers 200 like the real endpoint.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface ReceivedEnvelope {
  /** Request path without the query, `/api/PROJECT_ID/envelope/`. */
  path: string;
  /** The DSN's public key, sent as the `sentry_key` query parameter. */
  sentryKey: string | null;
  header: Record<string, unknown>;
  items: { header: Record<string, unknown>; payload: unknown }[];
}

export interface EnvelopeServer {
  port: number;
  /** A DSN that points the SDK at this server, project 1. */
  dsn: string;
  envelopes: ReceivedEnvelope[];
  /** The payloads of every `event` item received so far. */
  events(): Record<string, unknown>[];
  close(): Promise<void>;
}

/** Listens on a free port, or on `port` (to bring an ingest back where a DSN already points). */
export async function startEnvelopeServer(publicKey = 'publickey', port = 0): Promise<EnvelopeServer> {
  const envelopes: ReceivedEnvelope[] = [];
  const server: Server = createServer((request, response) => {
    readBody(request).then(
      (body) => {
        const url = new URL(request.url ?? '/', 'http://127.0.0.1');
        envelopes.push({
          path: url.pathname,
          sentryKey: url.searchParams.get('sentry_key'),
          ...parseEnvelope(body),
        });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      () => response.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const listening = (server.address() as AddressInfo).port;
  return {
    port: listening,
    dsn: `http://${publicKey}@127.0.0.1:${listening}/1`,
    envelopes,
    events: () =>
      envelopes.flatMap((envelope) =>
        envelope.items
          .filter((item) => item.header.type === 'event')
          .map((item) => item.payload as Record<string, unknown>),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  // The SDK gzips bodies above 32 KiB.
  const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
  return body.toString('utf8');
}

/** An envelope is newline-separated JSON: the envelope header, then a header and a payload per item. */
function parseEnvelope(body: string): Pick<ReceivedEnvelope, 'header' | 'items'> {
  const lines = body.split('\n').filter((line) => line.length > 0);
  const header = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  const items: ReceivedEnvelope['items'] = [];
  for (let index = 1; index + 1 < lines.length; index += 2) {
    const itemHeader = JSON.parse(lines[index] as string) as Record<string, unknown>;
    const payloadText = lines[index + 1] as string;
    let payload: unknown = payloadText;
    try {
      payload = JSON.parse(payloadText);
    } catch {
      // Attachments are not JSON; keep them as text.
    }
    items.push({ header: itemHeader, payload });
  }
  return { header, items };
}
