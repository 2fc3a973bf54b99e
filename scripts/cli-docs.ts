// docs/cli.md's synopsis and its table of commands come from the commands themselves (engine/cli/commands/*.ts: each
// command's usage and summary), so `dlens COMMAND --help` and the docs cannot drift apart. `npx tsx
// scripts/cli-docs.ts` rewrites them; `--check` exits 1 when they are stale (test/unit/cli-docs.test.ts runs it).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS } from '../engine/cli/commands/index.js';

const FILE = join(import.meta.dirname, '..', 'docs', 'cli.md');
const BEGIN = '<!-- generated from engine/cli/commands by scripts/cli-docs.ts: begin -->';
const END = '<!-- generated: end -->';

export function generated(): string {
  const usage = COMMANDS.map((c) => c.usage).join('\n');
  const rows = COMMANDS.map((c) => `| \`${c.name}\` | ${c.summary} |`).join('\n');
  return `${BEGIN}\n\n\`\`\`\n${usage}\n\`\`\`\n\n| command | does |\n|---|---|\n${rows}\n\n${END}`;
}

export function current(): string {
  const text = readFileSync(FILE, 'utf8');
  const a = text.indexOf(BEGIN),
    b = text.indexOf(END);
  if (a < 0 || b < 0) throw new Error(`${FILE} lacks the generated block's markers`);
  return text.slice(a, b + END.length);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  if (process.argv.includes('--check')) {
    if (current() !== generated()) {
      console.error('docs/cli.md is stale: run npx tsx scripts/cli-docs.ts');
      process.exit(1);
    }
  } else {
    const text = readFileSync(FILE, 'utf8');
    writeFileSync(FILE, text.replace(current(), generated()));
  }
}
