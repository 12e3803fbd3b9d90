import { describe, expect, it } from 'vitest';
import { describePayload, summaryText } from './payload.js';

describe('payloads', () => {
  it('are type and size unless shown', () => {
    const hidden = describePayload({ email: 'someone@example.com' }, false);
    expect(hidden).toEqual({ type: 'object', bytes: 31 });
    expect(summaryText(hidden)).toBe('object, 31 B');
    expect(summaryText(describePayload([1, 2], false))).toBe('array of 2, 5 B');
    expect(summaryText(describePayload('x'.repeat(2048), false))).toBe('string, 2.0 KB');
  });

  it('are indented JSON when shown, BigInt and Map included', () => {
    const shown = describePayload([{ n: 10n, m: new Map([['k', 1]]) }], true);
    expect(shown.json).toBe('[\n  {\n    "n": "10n",\n    "m": {\n      "k": 1\n    }\n  }\n]');
  });
});
