import { DlensError } from '../errors.js';
import type { Imported } from './build.js';
import type { ImportTokenizer } from './tokenizer.js';

/**
 * lmdeploy's dLLM decoding returns, with the generated `token_ids`, a `step_map`: for each generated token the
 * decoding step that revealed it. Saved as JSON (one response object, a list of them, or JSON lines), it becomes a
 * trace of states: a token is undecided until its step. Nothing says which token stood at an undecided position, so
 * the trace marks them with `masked`; values of step_map are steps in order, whatever they start from.
 */
export function parseLmdeploy(text: string, file: string, tok: ImportTokenizer | undefined, index: number): Imported {
  let items: unknown[];
  const trimmed = text.trim();
  try {
    const v = JSON.parse(trimmed);
    items = Array.isArray(v) ? v : [v];
  } catch {
    items = trimmed.split(/\r?\n/).map((l, i) => {
      try {
        return JSON.parse(l);
      } catch (e) {
        throw new DlensError(`${file}, line ${i + 1}: not JSON (${(e as Error).message})`);
      }
    });
  }
  if (index < 0 || index >= items.length)
    throw new DlensError(`${file} holds ${items.length} responses; --index must be 0..${items.length - 1}`);
  const o = items[index] as Record<string, unknown>;
  const at = `${file}, response ${index}`;
  const ids = o?.token_ids ?? o?.output_ids;
  const map = o?.step_map;
  if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && x >= 0))
    throw new DlensError(`${at}: "token_ids" must be a list of token ids`);
  if (!Array.isArray(map) || !map.every((x) => Number.isInteger(x)))
    throw new DlensError(`${at}: "step_map" must be a list of integers (the step of each generated token)`);
  if (map.length !== ids.length)
    throw new DlensError(`${at}: step_map has ${map.length} entries but token_ids ${ids.length}: one step per token`);
  if (!ids.length) throw new DlensError(`${at}: no generated tokens`);
  const first = Math.min(...(map as number[]));
  const S = Math.max(...(map as number[])) - first + 1;
  const states: number[][] = [],
    masked: number[][] = [];
  for (let s = 0; s <= S; s++) {
    states.push(ids as number[]);
    masked.push((map as number[]).map((k) => (k - first < s ? 0 : 1)));
  }
  const vocabSize = Math.max(tok?.vocabSize ?? 0, ...(ids as number[]).map((i) => i + 1));
  return {
    states,
    masked,
    promptLength: 0,
    eosId: tok?.eosId,
    vocabSize,
    tokenText: tok ? tok.tokenText : (id) => `<${id}>`,
    output: typeof o.text === 'string' ? o.text : tok ? tok.decode(ids as number[]) : '',
    source: { tool: 'lmdeploy', format: 'lmdeploy-step-map', file },
  };
}
