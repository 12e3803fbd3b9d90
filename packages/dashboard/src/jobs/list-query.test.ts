import { describe, expect, it } from 'vitest';
import type { HttpError } from '../http/errors.js';
import { listSearch, pagerLinks, readListQuery } from './list-query.js';

const read = (search: string, withState = true) =>
  readListQuery(new URLSearchParams(search), 'main', withState);

function refusal(search: string, withState = true): HttpError {
  try {
    read(search, withState);
  } catch (error) {
    return error as HttpError;
  }
  throw new Error(`"${search}" was accepted`);
}

describe('list filters in the URL', () => {
  it('defaults to the configured queue and every live state', () => {
    expect(read('')).toEqual({ queue: 'main', trail: [] });
    expect(read('queue=mail&state=failed&task=send.mail')).toEqual({
      queue: 'mail',
      state: 'failed',
      task: 'send.mail',
      trail: [],
    });
  });

  it('refuses an unknown state, a state on a list without one, and a malformed cursor, naming them', () => {
    expect(refusal('state=sleeping').status).toBe(400);
    expect(refusal('state=sleeping').message).toMatch(/unknown state "sleeping": use one of queued/);
    expect(refusal('state=unknown').message).toMatch(/unknown state "unknown"/);
    expect(refusal('state=dead', false).message).toMatch(/no state filter/);
    expect(refusal('cursor=has%20space').message).toMatch(/page cursor is malformed/);
    expect(refusal(`prev=${'x'.repeat(301)}`).message).toMatch(/page cursor is malformed/);
    expect(refusal('task=two%20words').message).toMatch(/task must be/);
  });

  it('pages forward and back through the trail of cursors', () => {
    const first = read('queue=q&state=queued');
    const toSecond = pagerLinks(first, 'c1');
    expect(toSecond).toEqual({ next: '?queue=q&state=queued&prev=&cursor=c1' });
    const second = read(toSecond.next!.slice(1));
    expect(second).toMatchObject({ cursor: 'c1', trail: [''] });
    const fromSecond = pagerLinks(second, 'c2');
    expect(fromSecond.previous).toBe('?queue=q&state=queued');
    const third = read(fromSecond.next!.slice(1));
    expect(third).toMatchObject({ cursor: 'c2', trail: ['', 'c1'] });
    expect(pagerLinks(third, undefined)).toEqual({ previous: '?queue=q&state=queued&prev=&cursor=c1' });
    expect(listSearch({ queue: 'a b' })).toBe('?queue=a+b');
  });
});
