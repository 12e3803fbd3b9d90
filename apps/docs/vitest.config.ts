import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Only this folder's tests: the samples written to .samples/ include a page's own test file.
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 },
});
