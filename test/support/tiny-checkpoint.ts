import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

/** The bundled dlens-tiny checkpoint (assets/checkpoints/dlens-tiny, LLaDA format) copied to `dir`, recipe left out. */
export function tinyCheckpoint(dir: string) {
  const src = join(ROOT, 'assets', 'checkpoints', 'dlens-tiny');
  cpSync(src, dir, { recursive: true, filter: (p) => !p.includes('recipe') });
  return { config: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown> };
}
