import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { API_METHODS, type EngineEvent } from '../engine/api/types.js';
import { CHANNELS, EVENT_TYPES, type PreloadApi } from './preload-api.js';

/**
 * The renderer's only door to the engine: one named function per API method (no generic invoke, no ipcRenderer
 * handed out). Main validates every call again; events from main are checked for shape before reaching the page.
 */
const call =
  (method: string) =>
  (...args: unknown[]) =>
    ipcRenderer.invoke(CHANNELS.call, method, args);
const isEvent = (e: unknown): e is EngineEvent =>
  !!e &&
  typeof e === 'object' &&
  (EVENT_TYPES as readonly string[]).includes((e as { type?: unknown }).type as string) &&
  typeof (e as { data?: unknown }).data === 'object';

const api = {
  ...Object.fromEntries(API_METHODS.map((m) => [m, call(m)])),
  onEvent(listener: (e: EngineEvent) => void) {
    const h = (_: IpcRendererEvent, e: unknown) => {
      if (isEvent(e)) listener(e);
    };
    ipcRenderer.on(CHANNELS.event, h);
    return () => {
      ipcRenderer.removeListener(CHANNELS.event, h);
    };
  },
  onMenu(listener: (action: string) => void) {
    const h = (_: IpcRendererEvent, a: unknown) => {
      if (typeof a === 'string' && a.length < 5000) listener(a);
    };
    ipcRenderer.on(CHANNELS.menu, h);
    return () => {
      ipcRenderer.removeListener(CHANNELS.menu, h);
    };
  },
  saveFile: (name: string, data: Uint8Array) => ipcRenderer.invoke(CHANNELS.saveFile, name, data),
  chooseFolder: (title: string) => ipcRenderer.invoke(CHANNELS.chooseFolder, title),
} as PreloadApi;

contextBridge.exposeInMainWorld('dlens', api);
