import type { EngineApi, EngineEvent } from '../engine/api/types.js';

/** What electron/preload.ts exposes as window.dlens: the engine API, menu commands and a save-file call. */
export type PreloadApi = Omit<EngineApi, 'onEvent'> & {
  onEvent(listener: (e: EngineEvent) => void): () => void;
  onMenu(listener: (action: string) => void): () => void;
  saveFile(name: string, data: Uint8Array): Promise<string | null>;
};

export const CHANNELS = {
  call: 'dlens:call',
  event: 'dlens:event',
  menu: 'dlens:menu',
  saveFile: 'dlens:save-file',
} as const;
