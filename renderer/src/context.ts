import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { AppState } from './store.js';
import type { Host } from './host/types.js';

export const AppContext = createContext<{ store: StoreApi<AppState>; host: Host } | null>(null);
export function useApp<T>(selector: (s: AppState) => T): T {
  const ctx = useContext(AppContext)!;
  return useStore(ctx.store, selector);
}
export function useHost(): Host {
  return useContext(AppContext)!.host;
}
export function useStoreApi(): StoreApi<AppState> {
  return useContext(AppContext)!.store;
}
