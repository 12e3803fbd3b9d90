/**
 * The example's configuration. No broker is named, so tasq uses the embedded default: SQLite in
 * ./.tasq/tasq.db, as broker and result backend. To run the same example on PostgreSQL, change nothing
 * here; set the environment instead:
 *
 *   TASQ_POSTGRES=postgres://postgres@127.0.0.1:5432/test pnpm demo
 */
import { defineConfig } from '@tasq/core';

export default defineConfig({
  name: 'example',
  tasks: ['./dist/tasks.js'],
  workers: 2,
  concurrency: 4,
  bulk: 10,
  // The lease: longer than any task's timeout, and extended while a task runs.
  retry: '30s',
  stopTimeout: '10s',
});
