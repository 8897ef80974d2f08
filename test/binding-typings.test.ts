import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { loadNative } from '../lib/binding';

// Reads binding.d.ts with the TypeScript compiler and compares it with what the addon exports.
function declared(): { functions: string[]; constants: string[]; methods: Record<string, string[]> } {
  const file = path.join(__dirname, '..', 'binding.d.ts');
  const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const functions: string[] = [];
  const constants: string[] = [];
  const methods: Record<string, string[]> = {};
  source.forEachChild((node) => {
    if (ts.isFunctionDeclaration(node) && node.name) functions.push(node.name.text);
    if (ts.isVariableStatement(node)) {
      node.declarationList.declarations.forEach((d) => constants.push((d.name as ts.Identifier).text));
    }
    if (ts.isClassDeclaration(node) && node.name) {
      methods[node.name.text] = node.members
        .filter(ts.isMethodDeclaration)
        .map((m) => (m.name as ts.Identifier).text);
    }
  });
  return { functions, constants, methods };
}

test('binding.d.ts matches the native module exactly', () => {
  const { functions, constants, methods } = declared();
  const exported = loadNative() as unknown as Record<string, unknown>;
  const exportedFunctions = Object.keys(exported).filter((k) => !(k in methods) && typeof exported[k] === 'function');
  expect(exportedFunctions.sort()).toEqual([...functions].sort());
  const exportedConstants = Object.keys(exported).filter((k) => typeof exported[k] !== 'function');
  expect(exportedConstants.sort()).toEqual([...constants].sort());
  for (const [cls, names] of Object.entries(methods)) {
    const proto = (exported[cls] as { prototype: object }).prototype;
    const actual = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor');
    expect(actual.sort()).toEqual([...names].sort());
  }
});
