#!/usr/bin/env node
// The published entry point; the CLI itself is compiled to dist/.
// node:sqlite's experimental-feature warning says nothing the operator can act on: left out in tasq's own
// processes (see src/sqlite-warning.ts). Every other warning is shown.
const { hideSqliteExperimentalWarning } = await import('../dist/sqlite-warning.js');
hideSqliteExperimentalWarning();
await import('../dist/cli/main.js');
