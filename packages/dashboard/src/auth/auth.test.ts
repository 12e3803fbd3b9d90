import { describe, expect, it } from 'vitest';
import { LoginLimiter } from './login-limiter.js';
import { roleFor } from './passwords.js';
import { SessionStore } from './sessions.js';

describe('roleFor', () => {
  const credentials = { operator: 'operator-secret', viewer: 'viewer-secret' };
  it('opens the role of the matching password only', () => {
    expect(roleFor('operator-secret', credentials)).toBe('operator');
    expect(roleFor('viewer-secret', credentials)).toBe('viewer');
    expect(roleFor('operator-secre', credentials)).toBeUndefined();
    expect(roleFor('', credentials)).toBeUndefined();
    expect(roleFor('viewer-secret', { operator: 'operator-secret' })).toBeUndefined();
  });
});

describe('LoginLimiter', () => {
  it('makes an address wait after too many failures, until the oldest leaves the window', () => {
    const limiter = new LoginLimiter({ maxFailures: 2, windowMs: 10_000 });
    limiter.fail('a', 1_000);
    expect(limiter.retryAfterMs('a', 1_000)).toBe(0);
    limiter.fail('a', 2_000);
    expect(limiter.retryAfterMs('a', 3_000)).toBe(8_000);
    expect(limiter.retryAfterMs('b', 3_000)).toBe(0);
    expect(limiter.retryAfterMs('a', 11_001)).toBe(0);
    limiter.succeed('a');
    expect(limiter.retryAfterMs('a', 3_000)).toBe(0);
  });
});

describe('SessionStore', () => {
  it('expires sessions that were not used for the TTL', () => {
    let now = 0;
    const sessions = new SessionStore(1_000, 10, () => now);
    const session = sessions.create('viewer');
    expect(session.csrf).not.toBe(session.id);
    now = 900;
    expect(sessions.get(session.id)?.role).toBe('viewer');
    now = 1_800;
    expect(sessions.get(session.id)).toBeDefined();
    now = 2_900;
    expect(sessions.get(session.id)).toBeUndefined();
    expect(sessions.get('forged')).toBeUndefined();
  });
});
