/**
 * reference/api/ from the published TypeScript declarations (each package's public entry points:
 * dist/index.d.ts, and @tasq/core's dist/backend.d.ts) and the TSDoc they keep, through TypeDoc with
 * typedoc-plugin-markdown and its VitePress theme.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Application } from 'typedoc';

export async function apiReference(repositoryRoot: string, outputFolder: string): Promise<void> {
  const packagesFolder = path.join(repositoryRoot, 'packages');
  const entryPoints = readdirSync(packagesFolder)
    .map((name) => path.join(packagesFolder, name))
    .filter((folder) => !JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')).private)
    .flatMap((folder) => publicEntryPoints(folder));
  const app = await Application.bootstrapWithPlugins({
    entryPoints,
    tsconfig: path.join(import.meta.dirname, '..', '..', 'tsconfig.typedoc.json'),
    plugin: ['typedoc-plugin-markdown', 'typedoc-vitepress-theme'],
    out: outputFolder,
    readme: 'none',
    entryFileName: 'index',
    // One page per package (about 10 pages, not 400): the site builds and is link-checked in a fraction
    // of the time, and a package's API reads top to bottom.
    outputFileStrategy: 'modules',
    // Explicit anchors: names that differ only in case (BrokerCapabilities, brokerCapabilities) would
    // otherwise get slugs the links do not expect.
    useHTMLAnchors: true,
    excludePrivate: true,
    excludeInternal: true,
    disableSources: true,
    hidePageHeader: true,
    hideBreadcrumbs: true,
    useCodeBlocks: true,
    validation: { notExported: false, invalidLink: false, unusedMergeModuleWith: false },
    logLevel: 'Warn',
  } as never);
  const project = await app.convert();
  if (!project) throw new Error('TypeDoc could not read the declarations');
  // Modules are named after their folder ("core/dist"); readers know them by package name.
  // A subpath entry ("core/dist/backend") gets the page @tasq/core-backend: a page @tasq/core/backend
  // would sit in a folder named like the @tasq/core page, which clean URLs cannot tell apart
  // (/reference/api/@tasq/core is the page or the folder). Its title and sidebar entry keep the import path.
  for (const module of project.children ?? [])
    module.name = `@tasq/${module.name.replace(/\/dist$/, '').replace(/\/dist\/(.+)$/, '-$1')}`;
  await app.generateOutputs(project);
  for (const file of readdirSync(outputFolder, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.md') && !file.endsWith('sidebar.json')) continue;
    const page = path.join(outputFolder, file);
    const text = withSubpathTitles(readFileSync(page, 'utf8'));
    writeFileSync(page, file.endsWith('.md') ? escapeTagsInProse(text) : text);
  }
}

/**
 * The declarations of a package's entry points (`exports`): `.` and subpaths such as `@tasq/core/backend`.
 * `./internal` entries are left out: they are for the @tasq/* packages, with no semver promise.
 */
function publicEntryPoints(folder: string): string[] {
  const manifest = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as {
    exports?: Record<string, string | { types?: string }>;
  };
  const entries = Object.entries(manifest.exports ?? { '.': { types: './dist/index.d.ts' } });
  return entries
    .filter(([subpath]) => subpath !== './internal' && !subpath.endsWith('.json'))
    .map(([, target]) => (typeof target === 'string' ? undefined : target.types))
    .filter((types): types is string => types !== undefined)
    .map((types) => path.join(folder, types));
}

/** The title and sidebar text of a subpath entry's page: `@tasq/core/backend`, as it is imported. */
function withSubpathTitles(text: string): string {
  return text
    .replace(/^# @tasq\/core-backend$/m, '# @tasq/core/backend')
    .replace(/"text":"@tasq\/core-backend"/g, '"text":"@tasq/core/backend"');
}

/**
 * VitePress compiles every page as a Vue template: a `<word>` placeholder in TSDoc prose (`"<what> needs
 * Node.js …"`) is taken for an unclosed element and fails the whole build. Outside code blocks and inline
 * code, every `<` but the anchors TypeDoc writes and the ones it escaped itself (`\\<`) is escaped.
 */
export function escapeTagsInProse(markdown: string): string {
  let fenced = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (line.startsWith('```')) fenced = !fenced;
      if (fenced || line.startsWith('```')) return line;
      return line
        .split(/(`[^`]*`)/)
        .map((part, index) =>
          index % 2 === 1 ? part : part.replace(/(?<!\\)<(?!a id="[^"]*"><\/a>|\/a>)/g, '&lt;'),
        )
        .join('');
    })
    .join('\n');
}
