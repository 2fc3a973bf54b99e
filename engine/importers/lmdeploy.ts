import { DlensError } from '../errors.js';
import { checkCells, maxOf, minOf, type Imported } from './build.js';
import { parseJsonChecked } from '../trace/json-guard.js';
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
    const v = parseJsonChecked(trimmed, 16);
    items = Array.isArray(v) ? v : [v];
  } catch {
    items = trimmed.split(/\r?\n/).map((l, i) => {
      try {
        return parseJsonChecked(l, 16);
      } catch (e) {
        throw new DlensError(
          `${file}, line ${i + 1}: ${(e as Error).message}; lmdeploy records are JSON or JSON lines`,
        );
      }
    });
  }
  if (index < 0 || index >= items.length)
    throw new DlensError(`${file} holds ${items.length} responses; --index must be 0..${items.length - 1}`);
  const o = items[index];
  const at = `${file}, response ${index}`;
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new DlensError(`${at} is not a JSON object`);
  const r = o as Record<string, unknown>;
  const ids = r.token_ids ?? r.output_ids;
  const map = r.step_map;
  // Ids are stored as int32 in a trace; with a tokenizer they must be its.
  const vocab = tok?.vocabSize ?? 2 ** 31 - 1;
  if (!Array.isArray(ids) || !ids.every((x) => Number.isSafeInteger(x)))
    throw new DlensError(`${at}: "token_ids" must be a list of token ids (whole numbers)`);
  const bad = (ids as number[]).findIndex((x) => x < 0 || x >= vocab);
  if (bad >= 0)
    throw new DlensError(
      `${at}: token_ids[${bad}] is ${ids[bad]}, outside ${tok ? "the tokenizer's vocabulary" : 'the ids a trace stores'} (0..${vocab - 1})`,
    );
  if (!Array.isArray(map) || !map.every((x) => Number.isSafeInteger(x)))
    throw new DlensError(`${at}: "step_map" must be a list of whole numbers (the step of each generated token)`);
  if (map.length !== ids.length)
    throw new DlensError(`${at}: step_map has ${map.length} entries but token_ids ${ids.length}: one step per token`);
  if (!ids.length) throw new DlensError(`${at}: no generated tokens`);
  const first = minOf(map as number[]);
  const S = maxOf(map as number[]) - first + 1;
  checkCells(S + 1, ids.length, `${at}: step_map`);
  const states: number[][] = [],
    masked: number[][] = [];
  for (let s = 0; s <= S; s++) {
    states.push(ids as number[]);
    masked.push((map as number[]).map((k) => (k - first < s ? 0 : 1)));
  }
  const vocabSize = maxOf(ids as number[], (tok?.vocabSize ?? 1) - 1) + 1;
  return {
    states,
    masked,
    promptLength: 0,
    eosId: tok?.eosId,
    vocabSize,
    tokenText: tok ? tok.tokenText : (id) => `<${id}>`,
    output: typeof r.text === 'string' ? r.text : tok ? tok.decode(ids as number[]) : '',
    source: { tool: 'lmdeploy', format: 'lmdeploy-step-map', file },
  };
}
