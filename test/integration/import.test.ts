import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp } from '../helpers.js';
import { tinyCheckpoint } from '../support/tiny-checkpoint.js';
import { createEngineService } from '../../engine/api/service.js';
import { validateCall } from '../../engine/api/schema.js';
import type { EngineEvent } from '../../engine/api/types.js';

/** Record → "Import Hugging Face checkpoint…": the engine side, as the app drives it after its folder dialog. */
describe('importing a checkpoint through the engine API', () => {
  const dir = tmp('dlens-import-');
  const home = join(dir, 'home'),
    hf = join(dir, 'LLaDA-tiny');
  const saved = process.env.DLENS_HOME;
  beforeAll(() => {
    process.env.DLENS_HOME = home;
    tinyCheckpoint(hf);
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.DLENS_HOME;
    else process.env.DLENS_HOME = saved;
  });

  it('imports only a folder the person chose, reports progress, and the model joins the list by name', async () => {
    const service = createEngineService({ tracesDir: join(home, 'traces'), stateDir: home });
    const events: EngineEvent[] = [];
    service.onEvent((e) => events.push(e));
    await expect(service.importCheckpoint({ dir: hf })).rejects.toThrow(/imports only a checkpoint folder you chose/);
    service.allow(hf); // what the desktop app's folder dialog does
    const { id } = await service.importCheckpoint({ dir: hf });
    await expect(service.importCheckpoint({ dir: hf })).rejects.toThrow(/already being imported/);
    for (let i = 0; i < 200 && !events.some((e) => e.type === 'import-done' || e.type === 'error'); i++)
      await new Promise((r) => setTimeout(r, 50));
    const progress = events.filter((e) => e.type === 'import-progress');
    expect(progress.length).toBe(56); // every tensor: embedding and final norm, and 9 per layer x 6
    expect(progress.at(-1)!.data).toMatchObject({ id, done: 56, total: 56 });
    expect(events.at(-1)).toMatchObject({
      type: 'import-done',
      data: { id, model: 'LLaDA-tiny', architecture: 'llada' },
    });
    expect(existsSync(join(home, 'models', 'LLaDA-tiny', 'model.onnx.data'))).toBe(true);
    expect((await service.models()).map((m) => m.name)).toContain('LLaDA-tiny');
    await expect(service.importCheckpoint({ dir: hf })).rejects.toThrow(/a model named LLaDA-tiny already exists/);
    await service.close();
  });

  it("passes the dialog's choices to the converter: weights, the cache's precision, a block size", async () => {
    const service = createEngineService({ tracesDir: join(home, 'traces'), stateDir: home });
    const events: EngineEvent[] = [];
    service.onEvent((e) => events.push(e));
    service.allow(hf);
    await service.importCheckpoint({ dir: hf, name: 'tiny-bd', dtype: 'int8', kvDtype: 'fp16', blockSize: 8 });
    for (let i = 0; i < 200 && !events.some((e) => e.type === 'import-done' || e.type === 'error'); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(events.at(-1)).toMatchObject({ type: 'import-done', data: { model: 'tiny-bd' } });
    const card = JSON.parse(readFileSync(join(home, 'models', 'tiny-bd', 'dlens-model.json'), 'utf8'));
    expect(card).toMatchObject({
      kv_dtype: 'float16',
      attention: 'block-causal',
      block_size: 8,
      training: { source: { dtype: 'int8' } },
    });
    await service.close();
  });

  it('validates the request: a model name is a plain name', () => {
    expect(() => validateCall('importCheckpoint', [{ dir: '/x', name: '../evil' }])).toThrow(/at 0.name: a model name/);
    expect(() => validateCall('importCheckpoint', [{ dir: '/x', dtype: 'int3' }])).toThrow(/at 0.dtype/);
    expect(() => validateCall('importCheckpoint', [{ dir: '/x', kvDtype: 'fp8' }])).toThrow(/at 0.kvDtype/);
    expect(() => validateCall('importCheckpoint', [{ dir: '/x', blockSize: 0 }])).toThrow(/at 0.blockSize/);
    expect(validateCall('importCheckpoint', [{ dir: '/x', name: 'LLaDA-8B', dtype: 'fp16' }]).method).toBe(
      'importCheckpoint',
    );
  });
});
