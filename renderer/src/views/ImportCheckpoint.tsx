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
      id.current = (await host.api.importCheckpoint({ dir })).id;
      setProgress({ id: id.current, done: 0, total: 1, tensor: '' });
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  const browser = !host.chooseFolder;
  return (
    <span className="import">
      <button
        data-testid="import-checkpoint"
        disabled={browser || !!progress}
        title={
          browser
            ? 'In a browser: run `dlens convert HF_DIR --out ~/.dlens/models/NAME` where dlens serve runs; the model then appears here'
            : 'Convert a LLaDA, Dream or dllm A2D checkpoint into a dlens model'
        }
        onClick={() => void start()}
      >
        Import Hugging Face checkpoint…
      </button>
      {progress && (
        <span className="progress" data-testid="import-progress">
          <progress max={progress.total} value={progress.done} /> {progress.done}/{progress.total} {progress.tensor}
        </span>
      )}
      {message && <span className="note">{message}</span>}
    </span>
  );
}
