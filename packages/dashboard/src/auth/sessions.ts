/**
 * Signed-in browsers, kept in this process's memory: a random id in an HttpOnly, SameSite=Strict cookie
 * points at the role and the CSRF token of the session. A restart signs everyone out, which is the safe
 * direction for an operator's tool.
 */
import { randomBytes } from 'node:crypto';
import type { Role } from './passwords.js';

export interface Flash {
  kind: 'ok' | 'error';
  text: string;
}

export interface Session {
  id: string;
  role: Role;
  /** Sent back with every action (form field `_csrf` or header `x-csrf-token`). */
  csrf: string;
  expiresAt: number;
  /** A message for the next page shown (what an action did). */
  flash?: Flash;
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxSessions = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  create(role: Role): Session {
    if (this.sessions.size >= this.maxSessions) this.prune();
    // Still full of live sessions: the oldest signs out rather than memory growing without bound.
    if (this.sessions.size >= this.maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      role,
      csrf: randomBytes(32).toString('base64url'),
      expiresAt: this.now() + this.ttlMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id (its expiry moves on: the TTL counts from the last use). */
  get(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = this.now();
    if (session.expiresAt <= now) {
      this.sessions.delete(id);
      return undefined;
    }
    session.expiresAt = now + this.ttlMs;
    return session;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  private prune(): void {
    const now = this.now();
    for (const [id, session] of this.sessions) if (session.expiresAt <= now) this.sessions.delete(id);
  }
}
