import { z } from 'zod';
import { validateCall } from '../engine/api/schema.js';
import type { EngineApi } from '../engine/api/types.js';
import { checkTrace, saveFileAt } from '../engine/api/files.js';

/** Where the user chose to save (a native dialog in the app); null when cancelled. */
export interface SaveDialogs {
  chooseSavePath(suggestedName: string, kind: 'trace' | 'export'): Promise<string | null>;
}

const SaveFileArgs = z.tuple([z.string().min(1).max(255), z.instanceof(Uint8Array)]);

/**
 * The main process's handlers for the preload's two channels, free of Electron so they are tested directly:
 * every call is validated (method name, argument shapes), traces are checked before they are written, and files are
 * written atomically where the user chose.
 */
export function createIpcHandlers(service: EngineApi, dialogs: SaveDialogs) {
  return {
    async call(method: unknown, args: unknown): Promise<unknown> {
      if (typeof method !== 'string') throw new Error('invalid engine call: the method name must be a string');
      const v = validateCall(method, args);
      if (v.method === 'saveTrace') {
        const [name, bytes] = v.args as [string, Uint8Array];
        checkTrace(bytes); // refuse before asking where: something that would not open again is never written
        const path = await dialogs.chooseSavePath(name, 'trace');
        if (!path) return null;
        saveFileAt(path, bytes); // checked above
        return { path };
      }
      const fn = service[v.method] as (...a: unknown[]) => Promise<unknown>;
      return fn.apply(service, v.args);
    },
    async saveFile(name: unknown, data: unknown): Promise<string | null> {
      const r = SaveFileArgs.safeParse([name, data]);
      if (!r.success)
        throw new Error(`invalid save request: ${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
      const path = await dialogs.chooseSavePath(r.data[0], 'export');
      if (!path) return null;
      saveFileAt(path, r.data[1]);
      return path;
    },
  };
}
