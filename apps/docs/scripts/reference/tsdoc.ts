/**
 * TSDoc comments read from the source with the TypeScript compiler: the comment above each property of
 * an object literal or an interface, by the name of the variable or interface it belongs to.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';

/** `/** text *\/` → text, one paragraph per blank line, line breaks inside a paragraph joined. */
function commentText(raw: string): string {
  return raw
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, '').trimEnd())
    .join('\n')
    .trim()
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s*\n\s*/g, ' '))
    .join('\n\n');
}

function leadingDoc(source: ts.SourceFile, node: ts.Node): string | undefined {
  const ranges = ts.getLeadingCommentRanges(source.text, node.getFullStart()) ?? [];
  const docs = ranges
    .map((range) => source.text.slice(range.pos, range.end))
    .filter((text) => text.startsWith('/**'));
  return docs.length > 0 ? commentText(docs[docs.length - 1]!) : undefined;
}

/** Every documented property in the file, by scope (the enclosing variable or interface) and name. */
export function propertyDocs(file: string): Map<string, Map<string, string>> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const scopes = new Map<string, Map<string, string>>();
  const visit = (node: ts.Node, scope: string) => {
    let inner = scope;
    if ((ts.isVariableDeclaration(node) || ts.isInterfaceDeclaration(node)) && ts.isIdentifier(node.name))
      inner = node.name.text;
    if ((ts.isPropertyAssignment(node) || ts.isPropertySignature(node)) && ts.isIdentifier(node.name)) {
      const doc = leadingDoc(source, node);
      if (doc !== undefined) {
        const docs = scopes.get(scope) ?? new Map<string, string>();
        scopes.set(scope, docs);
        if (!docs.has(node.name.text)) docs.set(node.name.text, doc);
      }
    }
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(source, '');
  return scopes;
}
