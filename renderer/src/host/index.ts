import type { Host } from './types.js';
import { browserHost } from './browser.js';
import { electronHost } from './electron.js';
import type { PreloadApi } from '../../../electron/preload-api.js';

export function getHost(): Host {
  const bridge = (window as unknown as { dlens?: PreloadApi }).dlens;
  return bridge ? electronHost(bridge) : browserHost();
}
export type { Host, MenuAction } from './types.js';
