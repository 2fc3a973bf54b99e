import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointHash, convertCheckpoint } from '../convert/convert.js';
import { openCheckpoint } from '../convert/checkpoint.js';
import { GRAPH_REVISION } from '../convert/transformer.js';
import { MODELS_DIR, REPO_ROOT } from './paths.js';

/**
 * Bundled models ship as Hugging Face checkpoints (assets/checkpoints/NAME: safetensors, config.json, tokenizer) and
 * run as the ONNX model `dlens convert` makes of them (assets/models/NAME, not committed). Why not commit the ONNX
 * model: the repository then holds each weight once, and the bundled model goes through the same converter as every
 * checkpoint a researcher brings. `npm run build` converts them; any first use converts what is missing or was made
 * from an older checkpoint (about a second for dlens-tiny).
 */
export const CHECKPOINTS_DIR = join(REPO_ROOT, 'assets', 'checkpoints');

/**
 * How a bundled checkpoint is converted: fp16 storage computing in fp32, as dlens-tiny was trained to be run; with
 * the logit lens, so a first trace can show what each layer believed (its cost: docs/diagnostics.md).
 */
const BUNDLED_OPTIONS = { dtype: 'fp16', lens: true } as const;

let ready: Promise<void> | undefined;

/** Converts each bundled checkpoint whose model is missing or stale; once per process. */
export function ensureBundledModels(): Promise<void> {
  ready ??= (async () => {
    if (!existsSync(CHECKPOINTS_DIR)) return;
    for (const name of readdirSync(CHECKPOINTS_DIR)) {
      const src = join(CHECKPOINTS_DIR, name);
      if (!existsSync(join(src, 'config.json'))) continue;
      await ensureConverted(src, join(MODELS_DIR, name));
    }
  })();
  return ready;
}

async function ensureConverted(src: string, dest: string) {
  // Every command passes here: hash the checkpoint (12 MB for dlens-tiny) only when a file of it is newer than the
  // converted model's card, i.e. when it may have changed since the conversion.
  const card = join(dest, 'dlens-model.json');
  if (builtFrom(dest) !== undefined) {
    const built = statSync(card).mtimeMs;
    if (readdirSync(src).every((f) => f === 'recipe' || statSync(join(src, f)).mtimeMs <= built)) return;
  }
  const hash = await checkpointHash(openCheckpoint(src));
  if (builtFrom(dest) === hash) {
    utimesSync(card, new Date(), new Date()); // the same checkpoint, touched: no need to hash it next time
    return;
  }
  process.stderr.write(`dlens: converting the bundled checkpoint ${src} into ${dest} (once)\n`);
  const fresh = `${dest}.new-${process.pid}`;
  rmSync(fresh, { recursive: true, force: true });
  await convertCheckpoint(src, fresh, { ...BUNDLED_OPTIONS, name: dest.split(/[\\/]/).pop() });
  // Another process (a test worker, a second window) may have converted it meanwhile: then keep theirs.
  if (builtFrom(dest) === hash) {
    rmSync(fresh, { recursive: true, force: true });
    return;
  }
  const old = `${dest}.old-${process.pid}`;
  if (existsSync(dest)) renameSync(dest, old);
  try {
    renameSync(fresh, dest);
  } catch (e) {
    if (builtFrom(dest) !== hash) throw e;
    rmSync(fresh, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
}

/**
 * The checkpoint hash a converted model's card records, or undefined when there is none or the model was built by an
 * older graph (GRAPH_REVISION): then it is converted again.
 */
function builtFrom(dir: string): string | undefined {
  try {
    const card = JSON.parse(readFileSync(join(dir, 'dlens-model.json'), 'utf8'));
    if (card.training?.source?.graph_revision !== GRAPH_REVISION) return undefined;
    return card.training?.source?.sha256;
  } catch {
    return undefined;
  }
}
