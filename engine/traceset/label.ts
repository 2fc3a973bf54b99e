import { basename } from 'node:path';
import { DlensError } from '../errors.js';
import { parseJsonChecked } from '../trace/json-guard.js';
import { readRegularFile } from '../util/safe-read.js';
import type { OpenSet } from './set.js';

/**
 * lm-evaluation-harness's `--log_samples` output joined into a set's index: `samples_TASK_DATE.jsonl`, one line per
 * document and filter, as lm_eval/evaluator.py writes it (EleutherAI/lm-evaluation-harness 4e7e0d47: doc_id, target,
 * filtered_resps, filter, metrics — the metric names — and each metric's value). A decode keyed (task, doc_id, repeat
 * r) gets the line's target as its reference, filtered_resps[r] as its filtered answer, and correct when the first
 * metric is above 0 (exact_match, acc, pass@1: 1 for right).
 */
const SAMPLES_NAME = /^samples_(.+)_(\d{4}-\d{2}-\d{2}T[\d.-]+)\.jsonl$/;

export interface LabelOptions {
  /** The task the file holds (else from its name, samples_TASK_DATE.jsonl). */
  task?: string;
  /** Which of lm-eval's filters to take (gsm8k: strict-match or flexible-extract); the first in the file else. */
  filter?: string;
}

export function labelRows(set: OpenSet, file: string, o: LabelOptions = {}) {
  const task = o.task ?? SAMPLES_NAME.exec(basename(file))?.[1];
  if (!task)
    throw new DlensError(
      `${basename(file)} is not named samples_TASK_DATE.jsonl as lm-eval writes it; say which task it holds with --task`,
    );
  const text = readRegularFile(file, '', 1 << 30).toString('utf8');
  const byDoc = new Map<string, Record<string, unknown>>();
  let filter = o.filter;
  const filters = new Set<string>();
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let l: Record<string, unknown>;
    try {
      l = parseJsonChecked(line, 64) as Record<string, unknown>;
    } catch (e) {
      throw new DlensError(
        `${basename(file)}, line ${i + 1}: ${(e as Error).message}; lm-eval's samples are JSON lines`,
      );
    }
    if (!l || typeof l !== 'object' || !('doc_id' in l) || !Array.isArray(l.filtered_resps))
      throw new DlensError(`${basename(file)}, line ${i + 1}: no doc_id or filtered_resps: not an lm-eval sample`);
    const f = String(l.filter ?? 'none');
    filters.add(f);
    filter ??= f;
    if (f === filter) byDoc.set(String(l.doc_id), l);
  });
  if (o.filter && !filters.has(o.filter))
    throw new DlensError(`${basename(file)} has no filter "${o.filter}"; it has ${[...filters].join(', ')}`);
  const labels: object[] = [];
  for (const r of set.rows) {
    if (r.sample?.task !== task) continue;
    const l = byDoc.get(String(r.sample.doc_id));
    if (!l) continue;
    const rep = r.sample.repeat ?? 0;
    const filtered = (l.filtered_resps as unknown[])[rep];
    const metric = Array.isArray(l.metrics) ? l[String(l.metrics[0])] : undefined;
    labels.push({
      id: r.id,
      reference: typeof l.target === 'string' ? l.target : JSON.stringify(l.target ?? null),
      ...(typeof filtered === 'string' ? { filtered } : {}),
      ...(typeof metric === 'number' || typeof metric === 'boolean' ? { correct: Number(metric) > 0 } : {}),
    });
  }
  return { task, filter: filter ?? null, labels, documents: byDoc.size };
}
