import { useEffect, useRef, useState } from 'react';
import { useHost } from '../context.js';
import type { ImportProgressEvent } from '../../../engine/api/types.js';

/**
 * Record → model → "Import Hugging Face checkpoint…": a folder dialog (the desktop app), then `dlens convert` in the
 * engine with a progress bar; the new model joins the list. A page in a browser cannot hand the engine a folder, so
 * there the button says how to do it on the command line.
 */
export function ImportCheckpoint({ onImported }: { onImported(model: string): void }) {
  const host = useHost();
  const [progress, setProgress] = useState<ImportProgressEvent | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const id = useRef<string | null>(null);
  // dlens convert's choices (docs/cli.md): weight storage, the cache's precision, and a BD3LM model's block size
  const [dtype, setDtype] = useState<'fp32' | 'fp16' | 'int8' | 'int4'>('fp32');
  const [kvDtype, setKvDtype] = useState<'fp32' | 'fp16'>('fp32');
  const [blockSize, setBlockSize] = useState('');
  useEffect(
    () =>
      host.api.onEvent((e) => {
        if (e.data.id !== id.current) return;
        if (e.type === 'import-progress') setProgress(e.data);
        else if (e.type === 'import-done') {
          id.current = null;
          setProgress(null);
          setMessage(`Imported ${e.data.model} (${e.data.architecture}) into ${e.data.dir}`);
          onImported(e.data.model);
        } else if (e.type === 'error') {
          id.current = null;
          setProgress(null);
          setMessage(`Import failed: ${e.data.message}`);
        }
      }),
    [host],
  );
  const start = async () => {
    setMessage(null);
    const dir = await host.chooseFolder?.(
      'Choose a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)',
    );
    if (!dir) return;
    try {
      const block = blockSize.trim() === '' ? undefined : Number(blockSize);
      if (block !== undefined && !(Number.isInteger(block) && block >= 1))
        throw new Error(`block size must be a whole number of positions (BD3LM models: 32), got "${blockSize}"`);
      id.current = (await host.api.importCheckpoint({ dir, dtype, kvDtype, blockSize: block })).id;
      setProgress({ id: id.current, done: 0, total: 1, tensor: '' });
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  // In a browser the engine cannot be handed a folder: the button explains the command line, and the converter's
  // options are not shown.
  const browser = !host.chooseFolder;
  return (
    <span className="import">
      <button
        data-testid="import-checkpoint"
        disabled={browser || !!progress}
        title={
          browser
            ? 'In a browser: run `dlens convert HF_DIR --out ~/.dlens/models/NAME` where dlens serve runs; the model then appears here'
            : 'Convert a LLaDA, Dream, dllm A2D or LLaDA-MoE checkpoint into a dlens model'
        }
        onClick={() => void start()}
      >
        Import Hugging Face checkpoint…
      </button>
      {!browser && (
        <span className="import-options" data-testid="import-options">
          import as:
          <label title="How the converted model stores its weights: int8/int4 are smaller and faster, slightly less exact">
            weights{' '}
            <select data-testid="import-dtype" value={dtype} onChange={(e) => setDtype(e.target.value as typeof dtype)}>
              {['fp32', 'fp16', 'int8', 'int4'].map((d) => (
                <option key={d}>{d}</option>
              ))}
            </select>
          </label>
          <label title="Precision of cached keys and values: fp16 halves the cache">
            cached keys{' '}
            <select
              data-testid="import-kv-dtype"
              value={kvDtype}
              onChange={(e) => setKvDtype(e.target.value as typeof kvDtype)}
            >
              <option>fp32</option>
              <option>fp16</option>
            </select>
          </label>
          <label title="Block-causal (BD3LM) checkpoints whose config.json does not give block_size: the size they were trained with">
            block size{' '}
            <input
              data-testid="import-block-size"
              size={4}
              placeholder="auto"
              value={blockSize}
              onChange={(e) => setBlockSize(e.target.value)}
            />
          </label>
        </span>
      )}
      {progress && (
        <span className="progress" data-testid="import-progress">
          <progress max={progress.total} value={progress.done} /> {progress.done}/{progress.total} {progress.tensor}
        </span>
      )}
      {message && <span className="note">{message}</span>}
    </span>
  );
}
