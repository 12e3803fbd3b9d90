/** The session cookie: read from the Cookie header, written HttpOnly and SameSite=Strict. */
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'tasq_dashboard';

export function readCookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) return decodeURIComponent(part.slice(index + 1).trim());
  }
  return undefined;
}

/** Set-Cookie for a session id (`undefined`: clear it). Secure when the page was reached over TLS. */
export function sessionCookie(id: string | undefined, path: string, secure: boolean): string {
  const parts = [
    `${SESSION_COOKIE}=${id ?? ''}`,
    `Path=${path || '/'}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
    ...(id === undefined ? ['Max-Age=0'] : []),
  ];
  return parts.join('; ');
}
