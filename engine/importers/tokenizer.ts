import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { DlensError } from '../errors.js';
import { readJsonObject } from '../util/safe-read.js';

/** A model's tokenizer.json, for importers that get text (ParallelBench's history) or bare ids (lmdeploy). */
export interface ImportTokenizer {
  encode(text: string): number[];
  tokenText(id: number): string;
  decode(ids: number[]): string;
  /** The mask token's id and text, when the tokenizer has one (a special token named like <|mask|>, [MASK]…). */
  mask?: { id: number; text: string };
  eosId?: number;
  vocabSize: number;
}

export function loadTokenizer(path: string): ImportTokenizer {
  const file = statSync(path, { throwIfNoEntry: false })?.isDirectory() ? join(path, 'tokenizer.json') : path;
  let spec: Record<string, unknown>;
  try {
    spec = readJsonObject(file, '--tokenizer', { maxBytes: 256 << 20, maxDepth: 64 });
  } catch (e) {
    throw new DlensError(`${(e as Error).message}; give the model's tokenizer.json (or its folder)`);
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(spec, {});
  } catch {
    throw new DlensError(
      `--tokenizer ${file} is JSON but not a Hugging Face tokenizer.json; give the model's tokenizer.json (or its folder)`,
    );
  }
  const added = (Array.isArray(spec.added_tokens) ? spec.added_tokens : []).filter(
    (a): a is { id: number; content: string; special?: boolean } =>
      !!a && Number.isSafeInteger(a.id) && a.id >= 0 && typeof a.content === 'string',
  );
  const vocab = (spec.model as { vocab?: unknown } | undefined)?.vocab;
  const ids = vocab && typeof vocab === 'object' ? Object.values(vocab).filter((x) => Number.isSafeInteger(x)) : [];
  const vocabSize = [...(ids as number[]), ...added.map((a) => a.id)].reduce((m, x) => Math.max(m, x + 1), 0);
  const special = added.filter((a) => a.special);
  const mask = special.find((a) => /mask/i.test(a.content));
  const eos = special.find((a) =>
    /^(<\|eos\|>|<\|endoftext\|>|<\|eot_id\|>|<\/s>|<\|im_end\|>|<eos>)$/.test(a.content),
  );
  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    tokenText: (id) => tok.decode([id], { skip_special_tokens: false }),
    decode: (ids) => tok.decode(ids, { skip_special_tokens: true }),
    mask: mask ? { id: mask.id, text: mask.content } : undefined,
    eosId: eos?.id,
    vocabSize,
  };
}
