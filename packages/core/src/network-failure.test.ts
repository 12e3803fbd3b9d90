import { describe, expect, it } from 'vitest';
import { networkFailureCause, withoutPassword } from './network-failure.js';

describe('networkFailureCause', () => {
  it('names a refused connection, also inside an AggregateError or a cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(networkFailureCause(refused)).toMatch(/^connection refused.*\(ECONNREFUSED\)$/);
    const aggregate = Object.assign(new AggregateError([refused], ''), { code: undefined });
    expect(networkFailureCause(aggregate)).toMatch(/connection refused/);
    expect(networkFailureCause(new Error('outer', { cause: refused }))).toMatch(/connection refused/);
    expect(networkFailureCause(new Error('no code'))).toBeUndefined();
  });
});

describe('withoutPassword', () => {
  it('hides the password and keeps the rest', () => {
    expect(withoutPassword('redis://user:secret@host:6379/0')).toBe('redis://user:***@host:6379/0');
    expect(withoutPassword('redis://:secret@host:6379')).toBe('redis://:***@host:6379');
    expect(withoutPassword('amqp://u:p@ss/w@host/vhost?x=1')).toBe('amqp://u:***@host/vhost?x=1');
    expect(withoutPassword('postgres://host:5432/db')).toBe('postgres://host:5432/db');
    expect(withoutPassword('mongodb://u@a,b/db')).toBe('mongodb://u@a,b/db');
  });
});
