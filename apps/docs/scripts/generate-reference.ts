/**
 * Writes the generated pages of the site before VitePress builds it: the configuration reference (from
 * the schema), the CLI reference (from the built `tasq` command's help), each broker's capability table
 * (from broker objects) and the API reference (TypeDoc over the published declarations). The output is
 * not committed: changing the source changes the site on its next build.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { apiReference } from './reference/api.ts';
import { brokerCapabilities, capabilityTable } from './reference/capabilities.ts';
import { cliReference } from './reference/cli.ts';
import { configurationReference } from './reference/configuration.ts';

const docsFolder = path.resolve(import.meta.dirname, '..');
const repositoryRoot = path.resolve(docsFolder, '../..');
const started = performance.now();

mkdirSync(path.join(docsFolder, 'reference'), { recursive: true });
writeFileSync(path.join(docsFolder, 'reference/configuration.md'), configurationReference(repositoryRoot));
writeFileSync(path.join(docsFolder, 'reference/cli.md'), await cliReference(repositoryRoot));

const generatedBrokers = path.join(docsFolder, 'brokers/generated');
mkdirSync(generatedBrokers, { recursive: true });
for (const [id, columns] of Object.entries(await brokerCapabilities())) {
  writeFileSync(
    path.join(generatedBrokers, `${id}-capabilities.md`),
    capabilityTable(columns, repositoryRoot),
  );
}

const apiFolder = path.join(docsFolder, 'reference/api');
rmSync(apiFolder, { recursive: true, force: true });
await apiReference(repositoryRoot, apiFolder);

console.log(`reference pages generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
// The Redis and SQS clients built for their capabilities hold no sockets, but nothing else is left to do.
process.exit(0);
