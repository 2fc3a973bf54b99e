import { DlensError } from '../errors.js';
import { checkCells, type Imported } from './build.js';

/**
 * LLaDA's visualisation (ML-GSAI/LLaDA visualization/generate.py) appends one line per step to sample_process.txt:
 * `STEP, *tok&*tok&…` — the generated tokens after that step as text, each wrapped in * and &, newlines and EOS shown
 * as spaces, the mask as <|mdm_mask|>. It holds no ids and no prompt: tokens become ids by their text (the mask 0),
 * the state before step 1 is all masks.
 */
export const LLADA_MASK_TEXT = '<|mdm_mask|>';

export function parseLladaSampleProcess(text: string, file: string, prompt = ''): Imported {
  const lines = text.split(/\r?\n/);
  const rows: string[][] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const m = /^(\d+), ?(.*)$/s.exec(line);
    if (!m)
      throw new DlensError(
        `${file}, line ${i + 1}: expected "STEP, *token&*token&…" as LLaDA's visualization/generate.py writes it`,
      );
    const step = Number(m[1]);
    if (step !== rows.length + 1)
      throw new DlensError(
        step === 1
          ? `${file}, line ${i + 1}: step 1 again: the file holds more than one run (generate.py appends); keep one run's lines`
          : `${file}, line ${i + 1}: step ${step} follows step ${rows.length}; steps must count up by one`,
      );
    const body = m[2]!.trim();
    if (!body.startsWith('*') || !body.endsWith('&'))
      throw new DlensError(`${file}, line ${i + 1}: tokens must be written *token& one after another`);
    const toks = body.slice(1, -1).split('&*');
    if (rows.length && toks.length !== rows[0]!.length)
      throw new DlensError(
        `${file}, line ${i + 1}: ${toks.length} tokens, but line 1 has ${rows[0]!.length}: every step writes the whole generated span`,
      );
    checkCells(rows.length + 2, toks.length, `${file}, line ${i + 1}`);
    rows.push(toks);
  });
  if (!rows.length) throw new DlensError(`${file} holds no steps (no "1, *…&" line)`);
  const ids = new Map<string, number>([[LLADA_MASK_TEXT, 0]]);
  const idOf = (t: string) => {
    if (!ids.has(t)) ids.set(t, ids.size);
    return ids.get(t)!;
  };
  const G = rows[0]!.length;
  const states = [Array(G).fill(0), ...rows.map((r) => r.map(idOf))];
  const texts = [...ids.keys()];
  const last = states[states.length - 1]!;
  return {
    states,
    promptLength: 0,
    maskId: 0,
    vocabSize: texts.length,
    tokenText: (id) => texts[id] ?? `<${id}>`,
    output: last.map((id) => texts[id]).join(''),
    prompt,
    source: { tool: 'LLaDA visualization', format: 'llada-sample-process', file },
    model: 'LLaDA',
    strategy: 'llada-low-confidence',
  };
}
