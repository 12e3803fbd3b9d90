#!/usr/bin/env node
// The published entry point; the CLI itself is compiled to dist/.
import '../dist/cli/main.js';
