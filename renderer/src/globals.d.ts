import type { StoreApi } from 'zustand/vanilla';
import type { PreloadApi } from '../../electron/preload-api.js';
import type { AppState } from './store.js';

declare global {
  interface Window {
    /** The preload bridge, present when the page runs in the Electron app (electron/preload.ts). */
    dlens?: PreloadApi;
    /** The app's store, readable by end-to-end tests and the UI benchmark (set in main.tsx). */
    __dlens?: { store: StoreApi<AppState> };
    /** Requests for the sets named in the address, started before the bundle (renderer/public/early-set-index.js). */
    __dlensEarlySetIndex?: Map<string, Promise<Response>>;
  }
}
