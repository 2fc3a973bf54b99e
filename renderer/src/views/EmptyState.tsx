import { useEffect, useState } from 'react';
import { useHost, useStoreApi } from '../context.js';
import type { RecentFile } from '../../../engine/api/types.js';
import { shortDateTime } from '../lib/format.js';

export function EmptyState({ onOpen, onOpenPath }: { onOpen(): void; onOpenPath(p: string): void }) {
  const host = useHost();
  const store = useStoreApi();
  const [recent, setRecent] = useState<RecentFile[]>([]);
  const [folder, setFolder] = useState<RecentFile[]>([]);
  useEffect(() => {
    host.api.recent().then(setRecent, () => setRecent([]));
    // The traces folder: where `dlens serve --traces-dir` points, e.g. the runs a Python recorder writes on a GPU box.
    host.api.traces().then(setFolder, () => setFolder([]));
  }, [host]);
  return (
    <div className="empty">
      <h1>Watch a diffusion LM decode, step by step</h1>
      <p>
        dlens replays recordings (<code>.dlens</code> traces) of a masked-diffusion model unmasking its answer: what it
        predicted at every position and step, when each token was right, when it was committed, what the KV cache kept.
      </p>
      <div className="actions">
        <button className="primary" onClick={onOpen}>
          Open a trace…
        </button>
        <button onClick={() => store.getState().setView('record')}>Record a new trace</button>
      </div>
      <p className="hint">
        Or drop <code>.dlens</code> files anywhere in this window. From a terminal:{' '}
        <code>npx dlens record --task sort:2 --out demo.dlens</code>.
      </p>
      <FileList title="In the traces folder" testId="traces-folder" files={folder} onOpenPath={onOpenPath} />
      <FileList title="Recent" files={recent} onOpenPath={onOpenPath} />
    </div>
  );
}

/** A titled list of trace files to open (the traces folder, the recent ones); nothing when empty. */
function FileList(props: { title: string; testId?: string; files: RecentFile[]; onOpenPath(p: string): void }) {
  if (!props.files.length) return null;
  return (
    <section data-testid={props.testId}>
      <h2>{props.title}</h2>
      <ul className="recent">
        {props.files.map((r) => (
          <li key={r.path}>
            <button onClick={() => props.onOpenPath(r.path)} title={r.path}>
              {r.name}
            </button>{' '}
            <span className="dim">{shortDateTime(r.openedAt)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
