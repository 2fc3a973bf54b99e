import { existsSync, lstatSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * What a launch (the command line, a second instance, the OS opening files) names for the app to open: `.dlens`
 * traces, and trace-set folders (a folder holding a regular `set.json`, docs/trace-set.md). Anything else (a flag,
 * a missing path, a plain folder) is not the person asking to open something.
 */
export function launchPaths(argv: string[]): { traces: string[]; sets: string[] } {
  const traces: string[] = [],
    sets: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-') || !existsSync(a)) continue;
    if (a.endsWith('.dlens') && statSync(a).isFile()) traces.push(resolve(a));
    else if (statSync(a).isDirectory() && isSetFolder(a)) sets.push(resolve(a));
  }
  return { traces, sets };
}

export const isSetFolder = (dir: string) => {
  try {
    return lstatSync(join(dir, 'set.json')).isFile();
  } catch {
    return false;
  }
};
