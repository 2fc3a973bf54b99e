import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CorpusProvider } from './types.js';

/** Reads the cleaned corpus written by the recipe's prepare_corpus.py. Loaded lazily: most suites never need it. */
export function fileCorpus(dir = process.env.DLENS_CORPUS ?? resolve('.data/corpus')): CorpusProvider | undefined {
  if (!existsSync(join(dir, 'define.jsonl'))) return undefined;
  let d: { word: string; definition: string }[] | undefined;
  let f: { text: string }[] | undefined;
  const read = <T>(name: string) =>
    readFileSync(join(dir, name), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as T);
  return {
    define: () => (d ??= read('define.jsonl')),
    fortune: () => (f ??= read('fortune.jsonl')),
  };
}
