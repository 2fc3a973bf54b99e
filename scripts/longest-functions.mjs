// The longest functions (in lines, as the file is formatted) under a folder: `node scripts/longest-functions.mjs
// engine/decode`. Used to report how long the decoding loop is (issue 13).
import ts from 'typescript';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'engine/decode';
const found = [];
for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts'))) {
  const sf = ts.createSourceFile(f, readFileSync(join(dir, f), 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (n) => {
    if (
      ts.isFunctionDeclaration(n) ||
      ts.isMethodDeclaration(n) ||
      ts.isArrowFunction(n) ||
      ts.isFunctionExpression(n)
    ) {
      const a = sf.getLineAndCharacterOfPosition(n.getStart()).line,
        b = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      found.push([b - a + 1, `${join(dir, f)}:${a + 1} ${n.name?.getText?.() ?? '(anonymous)'}`]);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}
found.sort((x, y) => y[0] - x[0]);
for (const [lines, where] of found.slice(0, 5)) console.log(`${lines} lines  ${where}`);
