#!/usr/bin/env node
// `tasq cluster` restarts itself at once with the sentinel's Node flags (a bounded young generation;
// see src/sentinel-flags.ts): first, so the process replaced has loaded nothing else.
const { restartWithSentinelFlags } = await import('../dist/sentinel-flags.js');
restartWithSentinelFlags();
// The published entry point; the CLI itself is compiled to dist/. The version check is one of core's
// internals, shared by the @tasq/* packages.
// On an older Node.js the commands would fail deep inside (`No such built-in module: node:sqlite`):
// say which version is needed and which one is running instead.
const { isNodeTooOld, nodeVersionMessage } = await import('@tasq/core/internal');
if (isNodeTooOld()) {
  process.stderr.write(`tasq: ${nodeVersionMessage('tasq')}\n`);
  process.exit(1);
}
// node:sqlite's experimental-feature warning says nothing the operator can act on: left out in tasq's own
// processes (see src/sqlite-warning.ts). Every other warning is shown.
const { hideSqliteExperimentalWarning } = await import('../dist/sqlite-warning.js');
hideSqliteExperimentalWarning();
await import('../dist/cli/main.js');
