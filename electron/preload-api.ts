import type { EngineApi, EngineEvent } from '../engine/api/types.js';

/** The engine's event types: the preload passes nothing else to the page. */
export const EVENT_TYPES: readonly EngineEvent['type'][] = [
  'progress',
  'done',
  'error',
  'import-progress',
  'import-done',
];

/** What electron/preload.ts exposes as window.dlens: the engine API, menu commands and a save-file call. */
export type PreloadApi = Omit<EngineApi, 'onEvent'> & {
  onEvent(listener: (e: EngineEvent) => void): () => void;
  onMenu(listener: (action: string) => void): () => void;
  saveFile(name: string, data: Uint8Array): Promise<string | null>;
  /** A folder dialog; the folder chosen (which the engine may then read) or null. */
  chooseFolder(title: string): Promise<string | null>;
};

export const CHANNELS = {
  call: 'dlens:call',
  event: 'dlens:event',
  menu: 'dlens:menu',
  saveFile: 'dlens:save-file',
  chooseFolder: 'dlens:choose-folder',
} as const;
