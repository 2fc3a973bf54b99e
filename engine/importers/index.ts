import { basename } from 'node:path';
import { DlensError } from '../errors.js';
import { TraceError } from '../trace/trace.js';
import { importedTrace, MAX_RECORD_BYTES } from './build.js';
import { readRegularFile } from '../util/safe-read.js';
import { parseLladaSampleProcess } from './llada-sample-process.js';
import { parseParallelBench } from './parallelbench.js';
import { parseLmdeploy } from './lmdeploy.js';
import { loadTokenizer } from './tokenizer.js';

/** Formats `dlens import --from` reads; the torch-object formats are imported by the Python package. */
export const IMPORT_FORMATS = ['llada-sample-process', 'parallelbench', 'lmdeploy-step-map'] as const;
export const PYTHON_FORMATS: Record<string, string> = {
  'dllm-histories': 'dlens.importers.from_dllm_histories(histories, "out.dlens", prompt_length=P, mask_token_id=M)',
  d2cache: 'dlens.importers.from_d2cache(record, "out.dlens", mask_token_id=M)',
};

export interface ImportOptions {
  from: string;
  tokenizer?: string;
  index?: number;
  prompt?: string;
}

/** Reads another tool's record and returns the bytes of a `.dlens` trace. */
export function importRecord(file: string, o: ImportOptions): Uint8Array {
  if (Object.hasOwn(PYTHON_FORMATS, o.from))
    throw new DlensError(
      `${o.from} records are torch objects: import them in Python, where they are made (pip install ./python): ${PYTHON_FORMATS[o.from]}`,
    );
  if (!(IMPORT_FORMATS as readonly string[]).includes(o.from))
    throw new DlensError(
      `--from must be one of ${IMPORT_FORMATS.join(', ')} (or, in Python, ${Object.keys(PYTHON_FORMATS).join(', ')}); got "${o.from}"`,
    );
  const tok = o.tokenizer ? loadTokenizer(o.tokenizer) : undefined;
  const bytes = new Uint8Array(readRegularFile(file, '', MAX_RECORD_BYTES));
  const name = basename(file);
  const rec =
    o.from === 'llada-sample-process'
      ? parseLladaSampleProcess(new TextDecoder().decode(bytes), name, o.prompt)
      : o.from === 'parallelbench'
        ? parseParallelBench(bytes, name, tok, o.index ?? 0)
        : parseLmdeploy(new TextDecoder().decode(bytes), name, tok, o.index ?? 0);
  if (o.prompt !== undefined) rec.prompt = o.prompt;
  try {
    return importedTrace(rec);
  } catch (e) {
    if (e instanceof TraceError) throw new DlensError(`${name}: the record does not make a valid trace (${e.message})`);
    throw e;
  }
}
