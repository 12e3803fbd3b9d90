/**
 * The query files as the dialects receive them: every placeholder and fragment filled in, every
 * parameter bound, and the three result reads sharing one select list.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from './package-files.js';
import { type DialectKind, loadQuery, type QueryName } from './queries.js';
import { TableNames } from './table-names.js';

const names = new TableNames({ schema: 'tasq_test', prefix: 'app_' });

for (const dialect of ['postgres', 'sqlite'] as DialectKind[]) {
  describe(`${dialect} queries`, () => {
    const files = readdirSync(path.join(packageRoot, 'queries', dialect)).filter((file) =>
      file.endsWith('.sql'),
    );

    it('leave no placeholder or fragment unfilled', () => {
      expect(files.length).toBeGreaterThan(20);
      for (const file of files) {
        const query = loadQuery(dialect, file.replace(/\.sql$/, '') as QueryName, names);
        expect(query.text, file).not.toContain('{{');
        expect(query.text, file).not.toMatch(/^\s*--/m);
      }
    });

    it('give get, group and list the same columns, with held computed from the claims', () => {
      const selectLists = (['result-get', 'result-group', 'result-list'] as const).map((name) => {
        const query = loadQuery(dialect, name, names);
        expect(query.parameters).toContain('now');
        return query.text.slice(0, query.text.indexOf(`FROM ${names.identifier('results')}`)).trimEnd();
      });
      expect(selectLists[0]).toContain('outcome.keep_until_claimed');
      expect(selectLists[0]).toContain(names.identifier('claims'));
      expect(selectLists[0]).toMatch(/AS held$/);
      expect(selectLists[1]).toBe(selectLists[0]);
      expect(selectLists[2]).toBe(selectLists[0]);
    });
  });
}
