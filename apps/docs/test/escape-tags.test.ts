/**
 * Reference pages are compiled as Vue templates: a `<word>` left in TSDoc prose fails the whole docs
 * build. The generator escapes it in prose and leaves code, TypeDoc's anchors and its own escapes alone.
 */
import { describe, expect, it } from 'vitest';
import { escapeTagsInProse } from '../scripts/reference/api.js';

describe('escapeTagsInProse', () => {
  it('escapes a placeholder in prose so Vue does not read it as an element', () => {
    expect(escapeTagsInProse('"<what> needs Node.js 22.13.0"')).toBe('"&lt;what> needs Node.js 22.13.0"');
  });

  it('leaves inline code, fenced code, anchors and already escaped brackets as they are', () => {
    const page = [
      'Returns `Promise<void>` when done.',
      '```ts',
      'const x: Array<number> = [];',
      '```',
      '<a id="enqueue"></a>',
      'A \\<T\\> parameter',
    ].join('\n');
    expect(escapeTagsInProse(page)).toBe(page);
  });
});
