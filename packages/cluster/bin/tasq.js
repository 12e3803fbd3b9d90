#!/usr/bin/env node
// The published entry point; the CLI itself is compiled to dist/.
// node:sqlite (the embedded default broker) prints an experimental-feature warning on every command;
// it says nothing the operator can act on, so it is left out. Every other warning is shown.
const emitWarning = process.emitWarning;
process.emitWarning = function filtered(warning, ...rest) {
  if (String(warning?.message ?? warning).includes('SQLite is an experimental feature')) return;
  return emitWarning.call(process, warning, ...rest);
};
// On an older Node.js the commands would fail deep inside (`No such built-in module: node:sqlite`):
// say which version is needed and which one is running instead.
const { isNodeTooOld, nodeVersionMessage } = await import('@tasq/core');
if (isNodeTooOld()) {
  process.stderr.write(`tasq: ${nodeVersionMessage('tasq')}\n`);
  process.exit(1);
}
await import('../dist/cli/main.js');
