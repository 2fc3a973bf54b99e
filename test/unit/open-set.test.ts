import { describe, it, expect } from 'vitest';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { launchPaths } from '../../electron/launch-paths.js';
import { openTraceSet } from '../../renderer/src/lib/open-path.js';
import { applyLink, commandLine } from '../../renderer/src/lib/deep-link.js';
import { zoomKey } from '../../renderer/src/store.js';
import { record } from '../../engine/record.js';
import { createAppStore } from '../../renderer/src/store.js';
import type { Host } from '../../renderer/src/host/types.js';
import { FIXTURE, tmp } from '../helpers.js';

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
    expect(got).toEqual({ traces: [trace], sets: [set], state: null });
    expect(launchPaths([trace, '--state=view=heatmaps&step=5']).state).toBe('view=heatmaps&step=5');
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

describe("the desktop app's link to a moment", () => {
  it('is a command line naming the traces and the state, which a launch restores', async () => {
    const d = tmp();
    const path = join(d, "it's.dlens");
    await record({ model: FIXTURE, prompt: 'link', genLength: 16, blockLength: 8, steps: 16, out: path });
    const bytes = new Uint8Array(readFileSync(path));
    const a = createAppStore();
    a.getState().openBytes(bytes, "it's.dlens", path);
    a.getState().setView('heatmaps');
    a.getState().setStep(7);
    const id = a.getState().activeId!;
    a.getState().setZoom(zoomKey(id, 'heatmaps'), { k: 2, x: -10, y: -20 });
    const cmd = commandLine(a.getState());
    expect(cmd).toBe(`dlens '${d}/it'\\''s.dlens' '--state=view=heatmaps&step=7&zoom=2%2C-10%2C-20%2Call'`);
    // what the shell hands the app, and what the page then does with it
    const argv = [path, '--state=view=heatmaps&step=7&zoom=2%2C-10%2C-20%2Call'];
    const { traces, state } = launchPaths(argv);
    const b = createAppStore();
    b.getState().openBytes(bytes, "it's.dlens", traces[0]);
    applyLink(b, new URLSearchParams([...traces.map((t) => ['open', t]), ...new URLSearchParams(state!)]));
    const s = b.getState();
    expect([s.view, s.step]).toEqual(['heatmaps', 7]);
    expect(s.zooms[zoomKey(s.activeId!, 'heatmaps')]).toEqual({ k: 2, x: -10, y: -20, fit: 'all' });
  });
});
