import { useEffect, useRef, useState } from 'react';
import { useApp, useHost, useStoreApi } from './context.js';
import { active } from './store.js';
import { LAZY_ABOVE } from './lib/traceModel.js';
import { VIEWS, viewDef } from './views/registry.js';
import { EmptyState } from './views/EmptyState.js';
import { ExportMenu, runExport } from './views/Export.js';
import { StepBar } from './views/StepBar.js';
import { DetectorBadges } from './views/Diagnostics.js';
import { openBenchFile, openTracePath, openTraceSet } from './lib/open-path.js';
import { KeyboardHelp } from './views/KeyboardHelp.js';
import { applyLink, commandLine, linkParams } from './lib/deep-link.js';
import type { MenuAction } from './host/types.js';

export function App() {
  const store = useStoreApi();
  const host = useHost();
  const view = useApp((s) => s.view);
  const traces = useApp((s) => s.traces);
  const activeId = useApp((s) => s.activeId);
  const error = useApp((s) => s.error);
  const notice = useApp((s) => s.notice);
  const opening = useApp((s) => s.opening);
  const theme = useApp((s) => s.theme);
  const [dragging, setDragging] = useState(false);
  const [help, setHelp] = useState(false);
  const linked = useRef(false);
  const openChain = useRef<Promise<unknown>>(Promise.resolve());
  // The address bar follows the moment shown (after a link's own state is restored), so a reload keeps it.
  useEffect(() => {
    if (host.kind !== 'browser') return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsub = store.subscribe(() => {
      if (!linked.current) return;
      clearTimeout(timer);
      timer = setTimeout(() => history.replaceState(null, '', `?${linkParams(store.getState())}`), 150);
    });
    return () => {
      unsub();
      clearTimeout(timer);
    };
  }, [host]);
  const copyLink = async () => {
    // The desktop app's link is a command line that reopens the same traces and moment.
    const url =
      host.kind === 'browser'
        ? `${location.origin}${location.pathname}?${linkParams(store.getState())}`
        : commandLine(store.getState());
    try {
      await navigator.clipboard.writeText(url);
      store.getState().setNotice(`Link copied: ${url}`);
    } catch {
      store.getState().setNotice(`Copy this link: ${url}`);
    }
  };
  const fileInput = useRef<HTMLInputElement>(null);

  const openFiles = async (files: FileList | File[]) => {
    for (const f of Array.from(files)) {
      // A bench result opens in the Bench view (a set is a folder: `dlens serve --set`, or File → Open Trace Set).
      if (f.name.toLowerCase().endsWith('.json')) {
        await openBenchFile(store, f);
        continue;
      }
      // The same file again (a second drop): shown, not opened twice.
      const same = store.getState().traces.find((t) => t.name === f.name && !t.path && t.bytes?.length === f.size);
      if (same) {
        store.getState().setActive(same.id);
        continue;
      }
      if (f.size > LAZY_ABOVE)
        await store
          .getState()
          .openSource(
            { size: f.size, read: async (o, n) => new Uint8Array(await f.slice(o, o + n).arrayBuffer()) },
            f.name,
          );
      else store.getState().openBytes(new Uint8Array(await f.arrayBuffer()), f.name);
    }
  };
  const openPath = (path: string) => openTracePath(store, host, path);

  // `dlens serve FILE...` puts the files in the URL: open them once.
  useEffect(() => {
    if (host.kind !== 'browser') return;
    // In order, one after the other, then the first made active: the same trace is in front at every load.
    const opens = new URLSearchParams(location.search).getAll('open');
    const params = new URLSearchParams(location.search);
    void opens
      .reduce((p, path) => p.then(() => openPath(path)), Promise.resolve())
      .then(() => {
        const first = store.getState().traces.find((t) => opens.includes(t.path ?? ''));
        if (first) store.getState().setActive(first.id);
        applyLink(store, params); // view, step, position, zoom, comparison: a reload or a pasted link restores them
        linked.current = true;
      });
    // `dlens serve --set SET`: the sets open in the Set view.
    const sets = new URLSearchParams(location.search).getAll('set');
    // In order: the first named set is the one shown.
    void sets.reduce((p, d, i) => p.then(() => openTraceSet(store, host, d, i === 0)), Promise.resolve());
    if (sets.length) store.getState().setView('set');
  }, [host]);

  useEffect(
    () =>
      host.onMenu((a: MenuAction) => {
        if (a === 'open') fileInput.current?.click();
        // One after the other: a launch's state applies once the traces it names are open.
        else if (a.startsWith('open-path:'))
          openChain.current = openChain.current.then(() => openPath(a.slice('open-path:'.length)));
        else if (a.startsWith('apply-state:'))
          openChain.current = openChain.current.then(() =>
            applyLink(store, new URLSearchParams(a.slice('apply-state:'.length))),
          );
        else if (a.startsWith('open-set:')) void openTraceSet(store, host, a.slice('open-set:'.length));
        else if (a === 'compare') store.getState().setView('compare');
        else if (a === 'record') store.getState().setView('record');
        else void runExport(a, store.getState(), host).catch((e) => store.getState().setError((e as Error).message));
      }),
    [host],
  );

  // Keyboard: arrows step, Home/End jump, space plays; ignored while typing in a form.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // Ctrl+O / ⌘O opens files in the browser too (the desktop app's File menu takes the key there).
      if (host.kind === 'browser' && (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'o') {
        e.preventDefault();
        fileInput.current?.click();
        return;
      }
      const el = e.target as HTMLElement;
      if (el.closest('input, textarea, select')) return;
      if (e.key === '?') {
        setHelp((h) => !h);
        e.preventDefault();
        return;
      }
      const s = store.getState();
      if (e.key === 'ArrowRight') {
        s.stepBy(e.shiftKey ? 10 : 1);
        e.preventDefault();
      } else if (e.key === 'ArrowLeft') {
        s.stepBy(e.shiftKey ? -10 : -1);
        e.preventDefault();
      } else if (e.key === 'Home') {
        s.setStep(0);
        e.preventDefault();
      } else if (e.key === 'End') {
        s.setStep(Infinity);
        e.preventDefault();
      } else if (e.key === ' ') {
        s.togglePlay();
        e.preventDefault();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const hasTrace = traces.length > 0;
  const def = viewDef(view);
  const View = def.component;
  const body =
    def.needsTrace && !hasTrace ? (
      <EmptyState onOpen={() => fileInput.current?.click()} onOpenPath={openPath} />
    ) : (
      <View />
    );

  return (
    <div
      className={`app ${dragging ? 'dragging' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        void openFiles(e.dataTransfer.files);
      }}
    >
      <header className="toolbar">
        <span className="brand">dlens</span>
        <nav className="tabs" role="tablist">
          {VIEWS.map((v) => (
            <button
              key={v.id}
              role="tab"
              aria-selected={view === v.id}
              className={view === v.id ? 'on' : ''}
              onClick={() => store.getState().setView(v.id)}
            >
              {v.label}
            </button>
          ))}
        </nav>
        <span className="grow" />
        <button onClick={() => fileInput.current?.click()} title="Open .dlens traces (Ctrl+O)">
          Open…
        </button>
        <ExportMenu />
        <button onClick={() => void copyLink()} title="Copy a link to this moment: traces, view, step, zoom">
          Copy link
        </button>
        <button onClick={() => setHelp(true)} title="Keyboard shortcuts (?)" aria-label="keyboard shortcuts">
          ?
        </button>
        <button
          onClick={() => store.getState().setTheme(theme === 'dark' ? 'light' : 'dark')}
          title="Switch light/dark theme"
          aria-label="theme"
        >
          {theme === 'dark' ? '☀' : '☾'}
        </button>
        <input
          ref={fileInput}
          type="file"
          accept=".dlens,.json"
          multiple
          hidden
          data-testid="open-input"
          onChange={(e) => {
            if (e.target.files) void openFiles(e.target.files);
            e.target.value = '';
          }}
        />
      </header>
      {hasTrace && def.needsTrace && (
        <div className="tracebar">
          {traces.map((t) => (
            <span key={t.id} className={`tracechip ${t.id === activeId ? 'on' : ''}`}>
              <button onClick={() => store.getState().setActive(t.id)} title={t.path ?? t.name}>
                {t.name}
              </button>
              <button className="x" aria-label={`close ${t.name}`} onClick={() => store.getState().closeTrace(t.id)}>
                ×
              </button>
            </span>
          ))}
          <span className="grow" />
          <DetectorBadges />
          <TraceSummary />
        </div>
      )}
      {help && <KeyboardHelp onClose={() => setHelp(false)} />}
      {error && (
        <div className="error" role="alert">
          {error}
          <button onClick={() => store.getState().setError(null)} aria-label="dismiss">
            ×
          </button>
        </div>
      )}
      {opening && (
        <div className="notice" role="status" data-testid="opening">
          <span>
            Opening {opening.name}…{' '}
            {opening.total > 0 &&
              `${(opening.done / 1e6).toFixed(0)} of ${(opening.total / 1e6).toFixed(0)} MB it needs first`}
          </span>
          <progress max={opening.total || undefined} value={opening.total ? opening.done : undefined} />
        </div>
      )}
      {notice && (
        <div className="notice" role="status" data-testid="notice">
          {notice}
          <button onClick={() => store.getState().setNotice(null)} aria-label="dismiss">
            ×
          </button>
        </div>
      )}
      <main className="body">{body}</main>
      {hasTrace && def.needsTrace && <StepBar />}
    </div>
  );
}

function TraceSummary() {
  const lt = useApp(active);
  if (!lt) return null;
  const m = lt.trace.manifest;
  const src = m.source && m.source.kind !== 'engine' ? `${m.source.kind}: ${m.source.tool ?? m.source.format} · ` : '';
  return (
    <span className="summary" data-testid="trace-summary">
      {src}
      {m.model.name} · {m.strategy.name} · cache {m.cache.mode} · {lt.metrics.steps} steps · NFE {lt.metrics.nfe} · TPF{' '}
      {lt.metrics.tpf.toFixed(2)}
      {m.complete ? '' : ' · incomplete'}
    </span>
  );
}
