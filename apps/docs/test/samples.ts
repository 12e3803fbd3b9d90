/**
 * The site's TypeScript samples as files. Every ```ts block of a page is a module in a folder of that
 * page's own; a block whose first line is a `// name.ts` comment is that file (so the page's other
 * blocks import it as `./name.js`), any other `sample-N.ts`. A page that says `<!-- run: app.ts -->`
 * is run too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const docsFolder = path.resolve(import.meta.dirname, '..');

/** Folders whose pages are generated from the source (their samples are the declarations themselves). */
const SKIPPED = new Set(['node_modules', '.vitepress', '.samples', 'api', 'generated', 'test', 'scripts']);

export interface Page {
  /** Relative to the docs folder, e.g. `concepts/canvas.md`. */
  file: string;
  samples: Array<{ name: string; code: string }>;
  run?: string;
}

export function markdownPages(folder = docsFolder): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) return markdownPages(full);
    return entry.name.endsWith('.md') && entry.name !== 'README.md' ? [path.relative(docsFolder, full)] : [];
  });
}

export function readPage(file: string): Page {
  const text = readFileSync(path.join(docsFolder, file), 'utf8');
  const samples: Page['samples'] = [];
  for (const [, code] of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    const named = /^\/\/ ([\w.-]+\.ts)\b/.exec(code!)?.[1];
    samples.push({ name: named ?? `sample-${samples.length + 1}.ts`, code: code! });
  }
  const run = /<!-- run: ([\w.-]+\.ts) -->/.exec(text)?.[1];
  return { file, samples, ...(run ? { run } : {}) };
}

/** The folder a page's samples are written to, under .samples/. */
export const sampleFolderOf = (page: Page) => page.file.replace(/\.md$/, '').replaceAll('/', '__');
