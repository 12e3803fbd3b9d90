import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The browser tests start Chromium, a cluster and a dashboard on a shared, busy machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
