import { readTrace } from '../trace/trace.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/**
 * For hosts that write what the person chose to save (Electron's save dialogs): a trace is checked once, before the
 * dialog asks where, so nothing is written that would not open again; the write itself is atomic.
 */
export function checkTrace(bytes: Uint8Array): void {
  readTrace(bytes);
}

export function saveFileAt(path: string, bytes: Uint8Array): string {
  return writeFileAtomic(path, bytes);
}
