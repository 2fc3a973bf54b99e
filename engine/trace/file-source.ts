import { openSync, readSync, fstatSync, closeSync } from 'node:fs';
import type { ByteSource } from './trace.js';

/** Range reads of a trace file (Node): the engine's side of opening a large trace lazily. */
export function fileSource(path: string): ByteSource & { close(): void } {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  return {
    size,
    async read(offset, length) {
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, buf, got, length - got, offset + got);
        if (!n) break;
        got += n;
      }
      return buf.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}
