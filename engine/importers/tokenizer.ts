import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { DlensError } from '../errors.js';

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
    spec = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DlensError(`--tokenizer ${file} cannot be read as tokenizer.json: ${(e as Error).message}`);
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(spec, {});
  } catch (e) {
    throw new DlensError(`--tokenizer ${file} is not a Hugging Face tokenizer.json: ${(e as Error).message}`);
  }
  const added = (spec.added_tokens as { id: number; content: string; special?: boolean }[] | undefined) ?? [];
  const vocab = (spec.model as { vocab?: Record<string, number> } | undefined)?.vocab ?? {};
  const vocabSize = [...Object.values(vocab), ...added.map((a) => a.id)].reduce((m, x) => Math.max(m, x + 1), 0);
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
