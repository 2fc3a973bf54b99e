import { describe, it, expect } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { launchPaths } from '../../electron/launch-paths.js';
import { openTraceSet } from '../../renderer/src/lib/open-path.js';
import { createAppStore } from '../../renderer/src/store.js';
import type { Host } from '../../renderer/src/host/types.js';
import { tmp } from '../helpers.js';

describe('opening a trace set in the desktop app', () => {
  it('a launch names traces and set folders; flags, missing paths and plain folders are not asked for', () => {
    const d = tmp();
    const trace = join(d, 'a.dlens'),
      set = join(d, 'run.dlset'),
      plain = join(d, 'plain'),
      fake = join(d, 'fake.dlset');
    writeFileSync(trace, 'x');
    mkdirSync(set);
    writeFileSync(join(set, 'set.json'), '{"format":"dlens-set/1"}');
    mkdirSync(plain);
    mkdirSync(fake);
    symlinkSync('/etc/hostname', join(fake, 'set.json')); // a link is not a set's head
    execFileSync('mkfifo', [join(d, 'pipe.dlens')]);
    const got = launchPaths(['--inspect', trace, set, plain, fake, join(d, 'gone.dlens'), join(d, 'pipe.dlens')]);
    expect(got).toEqual({ traces: [trace], sets: [set] });
  });

  it("the menu's open-set opens the set in the Set view; a refusal is the app's error, with the engine's reason", async () => {
    const store = createAppStore();
    const host = {
      api: {
        openSet: async (dir: string) => {
          if (dir.endsWith('refused')) throw new Error('not a dlens-set/1 trace set');
          return { dir, rows: [], skipped: 0 };
        },
      },
    } as unknown as Host;
    await openTraceSet(store, host, '/data/a.dlset');
    await openTraceSet(store, host, '/data/b.dlset');
    const s = store.getState();
    expect(s.view).toBe('set');
    expect(s.sets.map((x) => x.dir)).toEqual(['/data/a.dlset', '/data/b.dlset']);
    expect(s.setBrowse.dir).toBe('/data/b.dlset'); // the one just opened is shown
    await openTraceSet(store, host, '/data/refused');
    expect(store.getState().error).toBe('Could not open the trace set /data/refused: not a dlens-set/1 trace set');
  });
});
