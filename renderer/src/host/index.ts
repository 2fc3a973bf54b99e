import type { Host } from './types.js';
import { browserHost } from './browser.js';
import { electronHost } from './electron.js';

export function getHost(): Host {
  const bridge = window.dlens;
  return bridge ? electronHost(bridge) : browserHost();
}
export type { Host, MenuAction } from './types.js';
