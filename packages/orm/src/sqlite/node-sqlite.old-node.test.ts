/**
 * @tasq/orm under a Node.js older than 22.13, as a user with one runs it: importing works, and opening
 * SQLite fails with a message naming the version needed and the one running, leaving no folder behind.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOlderNode } from '@tasq/testing';
import { describe, expect, it } from 'vitest';

const olderNode = findOlderNode();
const packageEntry = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

describe.skipIf(olderNode === undefined)(
  `@tasq/orm on an older Node.js${olderNode ? ` (${olderNode.version})` : ' (skipped: no Node.js older than 22.13 on this machine)'}`,
  () => {
    it('says which Node.js SQLite needs and which one is running', () => {
      const folder = mkdtempSync(path.join(tmpdir(), 'tasq-old-node-'));
      try {
        const script = path.join(folder, 'open.mjs');
        writeFileSync(
          script,
          `import plugin from ${JSON.stringify(packageEntry)};
try {
  await plugin.createBroker({ url: 'sqlite:./data/tasq.db' }, {});
  console.log('opened');
} catch (error) {
  console.log(\`\${error.name}: \${error.message}\`);
}`,
        );
        const run = spawnSync(olderNode!.path, [script], { cwd: folder, encoding: 'utf8' });
        expect(run.stderr).toBe('');
        expect(run.stdout.trim()).toBe(
          `BrokerError: SQLite (node:sqlite), the embedded default broker, needs Node.js 22.13.0 or newer; ` +
            `this is Node.js v${olderNode!.version} (${olderNode!.path}): upgrade Node.js, or configure PostgreSQL or another broker`,
        );
        expect(existsSync(path.join(folder, 'data'))).toBe(false);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  },
);
