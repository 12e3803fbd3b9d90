import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // These tests start cluster and CLI processes: on a starved machine one CLI call alone can take
    // seconds. A hang still fails, only later.
    testTimeout: 90_000,
    hookTimeout: 90_000,
  },
});
