import { describe, expect, it } from 'vitest';
import { isNodeTooOld, MINIMUM_NODE_VERSION, nodeVersionMessage } from './node-version.js';

describe('node version', () => {
  it('tells a Node.js older than 22.13 from one that is new enough', () => {
    for (const old of ['20.20.2', '22.12.9', '18.0.0', '22.5.1']) expect(isNodeTooOld(old), old).toBe(true);
    for (const recent of ['22.13.0', '22.14.1', '23.0.0', '24.9.0', '100.0.0'])
      expect(isNodeTooOld(recent), recent).toBe(false);
    expect(isNodeTooOld()).toBe(false);
  });

  it('names the version needed and the one running', () => {
    expect(nodeVersionMessage('tasq', '20.20.2')).toBe(
      `tasq needs Node.js ${MINIMUM_NODE_VERSION} or newer; this is Node.js v20.20.2 (${process.execPath})`,
    );
  });
});
