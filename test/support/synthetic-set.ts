import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { record } from '../../engine/record.js';
import { readTrace } from '../../engine/trace/trace.js';
import { openSetWriter } from '../../engine/traceset/set.js';
import { taskAt } from '../../engine/tasks/generate.js';
import { fileCorpus } from '../../engine/tasks/corpus.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import { breather } from '../helpers.js';

/**
 * A large trace set for the app's tests: real decodes of dlens-tiny (a few sort and pick instances under `strategy`),
 * each written many times under distinct sample ids — n decodes in all, decode k right when `correct(k)`.
 */
export async function syntheticSet(
  dir: string,
  scratch: string,
  n: number,
  strategy: string,
  correct = (k: number) => k % 3 !== 0,
) {
  const traces = [];
  for (const [suite, i] of [
    ['sort', 0],
    ['sort', 1],
    ['pick', 1],
    ['pick', 2],
  ] as const) {
    const out = join(scratch, `${suite}${i}-${strategy}.dlens`);
    const task = taskAt(suite, i, DEFAULTS.taskSeed, { split: 'eval', corpus: fileCorpus() });
    await record({ task, strategy, genLength: 32, blockLength: 32, lens: false, out });
    traces.push(readTrace(readFileSync(out)));
  }
  const w = openSetWriter(dir, { prefix: 'synthetic' });
  try {
    const breathe = breather();
    for (let k = 0; k < n; k++) {
      await breathe();
      w.append(traces[k % traces.length]!, { task: 'synthetic', doc_id: k }, { correct: correct(k) });
    }
  } finally {
    w.close();
  }
}
