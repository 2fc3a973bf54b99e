/**
 * The prompts of the comparison with the papers' decoding code (docs/fidelity.md): three instances of each task suite
 * checked right or wrong (the text suites need a corpus), in dlens-tiny's prompt template. make_goldens.py runs this
 * file for the ids it decodes; the test recomputes them and checks they are still the goldens' (a tokenizer or suite
 * change must remake the goldens).
 *
 *     npx tsx test/reference/prompts.ts MODEL_DIR   → JSON [{task, prompt, ids}]
 */
import { pathToFileURL } from 'node:url';
import { loadModel, type LoadedModel } from '../../engine/model/load.js';
import { taskAt } from '../../engine/tasks/generate.js';
import { DEFAULTS } from '../../engine/api/defaults.js';
import { CHECKED_SUITES } from '../../engine/tasks/suites.js';

export const PER_SUITE = 3;

export interface ReferencePrompt {
  task: string;
  prompt: string;
  ids: number[];
}

export function referencePrompts(model: LoadedModel): ReferencePrompt[] {
  return CHECKED_SUITES.flatMap((suite) =>
    Array.from({ length: PER_SUITE }, (_, i) => {
      const { prompt } = taskAt(suite, i, DEFAULTS.taskSeed, { split: 'eval' });
      return {
        task: `${suite}:${i}`,
        prompt,
        ids: model.encode(model.card.prompt_template.replace('{prompt}', prompt)),
      };
    }),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const model = await loadModel(process.argv[2] ?? 'dlens-tiny');
  process.stdout.write(JSON.stringify(referencePrompts(model)));
  await model.release();
}
