import { existsSync, readFileSync } from 'node:fs';
import { defineConfig } from 'vitepress';

/** The API pages' sidebar, written by TypeDoc at generation time (empty before the first generation). */
const apiSidebarFile = new URL('../reference/api/typedoc-sidebar.json', import.meta.url);
const apiSidebar = existsSync(apiSidebarFile) ? JSON.parse(readFileSync(apiSidebarFile, 'utf8')) : [];

export default defineConfig({
  title: 'tasq',
  description: 'A distributed task queue for Node.js and TypeScript',
  cleanUrls: true,
  lastUpdated: false,
  // Dead links fail the build; scripts/check-links.ts checks anchors in the built site.
  ignoreDeadLinks: false,
  srcExclude: ['README.md', '**/node_modules/**', '.samples/**'],
  // The local search index of ~400 pages is one chunk by design.
  vite: { build: { chunkSizeWarningLimit: 4_000 } },
  themeConfig: {
    search: { provider: 'local' },
    outline: { level: [2, 3] },
    nav: [
      { text: 'Guide', link: '/getting-started' },
      { text: 'Brokers', link: '/brokers/' },
      { text: 'Reference', link: '/reference/configuration' },
    ],
    sidebar: [
      {
        text: 'Start',
        items: [
          { text: 'Getting started', link: '/getting-started' },
          { text: 'The same app on each broker', link: '/brokers/' },
        ],
      },
      {
        text: 'Concepts',
        items: [
          { text: 'Tasks and jobs', link: '/concepts/tasks-and-jobs' },
          { text: 'Leases and at-least-once delivery', link: '/concepts/delivery' },
          { text: 'Idempotency', link: '/concepts/idempotency' },
          { text: 'Retries and dead letters', link: '/concepts/retries' },
          { text: 'Timeouts, recycling and memory', link: '/concepts/timeouts' },
          { text: 'Canvas: chain, group, chord', link: '/concepts/canvas' },
          { text: 'Schedules and time zones', link: '/concepts/schedules' },
          { text: 'Signing and key rotation', link: '/concepts/signing' },
        ],
      },
      {
        text: 'Brokers',
        items: [
          { text: 'SQLite and PostgreSQL', link: '/brokers/sqlite' },
          { text: 'Redis', link: '/brokers/redis' },
          { text: 'RabbitMQ', link: '/brokers/rabbitmq' },
          { text: 'Amazon SQS', link: '/brokers/sqs' },
          { text: 'MongoDB', link: '/brokers/mongo' },
        ],
      },
      {
        text: 'Guides',
        items: [
          { text: 'Moving from BullMQ', link: '/guides/from-bullmq' },
          { text: 'Moving from Celery', link: '/guides/from-celery' },
          { text: 'Moving from Django-Q2', link: '/guides/from-django-q2' },
          { text: 'Deploying', link: '/guides/deploying' },
          { text: 'Throughput and tuning', link: '/guides/performance' },
          { text: 'Monitoring', link: '/guides/monitoring' },
          { text: 'Dashboard', link: '/guides/dashboard' },
          { text: 'Writing a custom broker', link: '/guides/custom-broker' },
        ],
      },
      {
        text: 'Reference',
        items: [
          { text: 'Configuration', link: '/reference/configuration' },
          { text: 'Command line', link: '/reference/cli' },
          { text: 'API', link: '/reference/api/', collapsed: true, items: apiSidebar },
        ],
      },
    ],
  },
});
