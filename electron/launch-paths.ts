import { existsSync, lstatSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * What a launch (the command line, a second instance, the OS opening files) names for the app to open: `.dlens`
 * traces, trace-set folders (a folder holding a regular `set.json`, docs/trace-set.md), and `--state=` (the view,
 * step, zoom... of a copied link). Anything else (another flag, a missing path, a plain folder) is not the person
 * asking to open something.
 */
export function launchPaths(argv: string[]): { traces: string[]; sets: string[]; state: string | null } {
  const traces: string[] = [],
    sets: string[] = [];
  let state: string | null = null;
  for (const a of argv) {
    // `--state=view=heatmaps&step=20...`: the moment a copied command line reopens (renderer/src/lib/deep-link.ts).
    if (a.startsWith('--state=')) state = a.slice('--state='.length).slice(0, 4096);
    if (a.startsWith('-') || !existsSync(a)) continue;
    if (a.endsWith('.dlens') && statSync(a).isFile()) traces.push(resolve(a));
    else if (statSync(a).isDirectory() && isSetFolder(a)) sets.push(resolve(a));
  }
  return { traces, sets, state };
}

export const isSetFolder = (dir: string) => {
  try {
    return lstatSync(join(dir, 'set.json')).isFile();
  } catch {
    return false;
  }
};
