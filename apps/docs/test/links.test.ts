/**
 * The built site has no broken internal link or anchor. VitePress fails the build on a link to a
 * missing page; this checks every link of every built page, anchors included, against the built files
 * served on localhost. Links leaving the site are not followed (no network but localhost here).
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { LinkChecker } from 'linkinator';
import { describe, expect, it } from 'vitest';
import { docsFolder } from './samples.js';

const site = path.join(docsFolder, '.vitepress', 'dist');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('the built site', () => {
  it('has no broken internal link or anchor', async () => {
    expect(existsSync(path.join(site, 'index.html')), 'build the site first (pnpm build)').toBe(true);
    // The checker serves the built site on this port; every other address (other sites, and examples
    // in the API docs such as an emulator on 127.0.0.1:4566) is left alone.
    const port = await freePort();
    const result = await new LinkChecker().check({
      path: site,
      port,
      recurse: true,
      checkFragments: true,
      cleanUrls: true,
      linksToSkip: (link: string) => Promise.resolve(!link.startsWith(`http://127.0.0.1:${port}/`)),
      concurrency: 10,
      retryErrors: true,
      retryErrorsCount: 3,
    });
    const broken = result.links
      .filter((link) => link.state === 'BROKEN')
      .map(
        (link) =>
          `${link.url} (on ${link.parent}): ${link.status} ${link.failureDetails?.map(String).join('; ') ?? ''}`,
      );
    expect(broken).toEqual([]);
    // The crawl reached the pages, not just the front page.
    const checked = result.links.filter((link) => link.state === 'OK').map((link) => link.url);
    for (const page of [
      '/getting-started',
      '/reference/configuration',
      '/reference/api/@tasq/core',
      '/brokers/sqs',
    ])
      expect(checked.some((url) => url.endsWith(page))).toBe(true);
  });
});
