import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { AppContext } from './context.js';
import { createAppStore } from './store.js';
import { getHost } from './host/index.js';
import './styles.css';

const saved = localStorage.getItem('dlens.theme');
const store = createAppStore({
  theme: saved === 'dark' || (!saved && matchMedia('(prefers-color-scheme: dark)').matches) ? 'dark' : 'light',
  colormap: localStorage.getItem('dlens.colormap') ?? undefined,
  // `dlens serve --set`: the Set view from the first frame (the opening bar names the set), not Replay's empty page.
  ...(new URLSearchParams(location.search).has('set') ? { view: 'set' as const } : {}),
});
store.subscribe((s) => {
  localStorage.setItem('dlens.theme', s.theme);
  localStorage.setItem('dlens.colormap', s.colormap);
  document.documentElement.dataset.theme = s.theme;
});
document.documentElement.dataset.theme = store.getState().theme;
const host = getHost();
// For end-to-end tests and the UI benchmark: the store, readable from the page.
window.__dlens = { store };
createRoot(document.getElementById('root')!).render(
  <AppContext.Provider value={{ store, host }}>
    <App />
  </AppContext.Provider>,
);
