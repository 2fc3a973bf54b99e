import type { EngineApi } from '../../../engine/api/types.js';

export type MenuAction =
  | 'open'
  | 'save'
  | 'export-svg'
  | 'export-png'
  | 'export-csv'
  | 'export-latex'
  | 'compare'
  | 'record'
  | `open-path:${string}`
  | `open-set:${string}`
  | `apply-state:${string}`;

/** What the views need from where they run (Electron or a browser): the engine, saving files, menu commands. */
export interface Host {
  kind: 'electron' | 'browser';
  api: EngineApi;
  /** Saves bytes under a suggested name; returns where they went, or null when the user cancelled. */
  saveFile(name: string, data: Uint8Array | string): Promise<string | null>;
  onMenu(listener: (a: MenuAction) => void): () => void;
  /** A folder dialog (the desktop app only: a page cannot let the person pick a folder for the engine to read). */
  chooseFolder?: (title: string) => Promise<string | null>;
}
