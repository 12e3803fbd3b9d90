import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The browser tests start Chromium, a cluster and a dashboard on a shared, busy machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Pages are read as a person would, until they show what is expected: on a busy machine one page
    // load alone can take seconds (vitest's default poll gives up after 1 s).
    expect: { poll: { timeout: 30_000 } },
  },
});
