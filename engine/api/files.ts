import { readTrace } from '../trace/trace.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/**
 * Writing what the person chose to save, for hosts (Electron's save dialogs): atomically, and a trace only after it
 * reads back as a valid trace, so nothing is written that would not open again.
 */
/** Throws the reader's TraceError when the bytes are not a valid trace. */
export function checkTrace(bytes: Uint8Array): void {
  readTrace(bytes);
}

export function saveTraceAt(path: string, bytes: Uint8Array): string {
  readTrace(bytes);
  return writeFileAtomic(path, bytes);
}

export function saveFileAt(path: string, bytes: Uint8Array): string {
  return writeFileAtomic(path, bytes);
}
