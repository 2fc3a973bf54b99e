import type { EngineEvent } from '../../../engine/api/types.js';
import type { Host, MenuAction } from './types.js';
import type { PreloadApi } from '../../../electron/preload-api.js';

/** The engine through Electron's preload bridge (window.dlens), the same interface as the browser host. */
export function electronHost(bridge: PreloadApi): Host {
  const { onEvent, onMenu, saveFile, chooseFolder, ...calls } = bridge;
  return {
    kind: 'electron',
    api: { ...calls, onEvent: (l: (e: EngineEvent) => void) => onEvent(l) },
    saveFile: (name, data) => saveFile(name, typeof data === 'string' ? new TextEncoder().encode(data) : data),
    onMenu: (l: (a: MenuAction) => void) => onMenu(l as (a: string) => void),
    chooseFolder,
  };
}
