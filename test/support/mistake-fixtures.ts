import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { FIXTURE, tmp } from '../helpers.js';

/** Copies the fixture model with one field of its card changed, so that the card disagrees with the graph. */
function badCard(dir: string, name: string, change: Record<string, unknown>) {
  const d = join(dir, name);
  cpSync(FIXTURE, d, { recursive: true });
  const card = JSON.parse(readFileSync(join(d, 'dlens-model.json'), 'utf8'));
  writeFileSync(join(d, 'dlens-model.json'), JSON.stringify({ ...card, ...change }));
  return d;
}

/** What the table's placeholders stand for: a scratch folder, models with wrong cards, a port already taken. */
export async function mistakeFixtures(): Promise<{ vars: Record<string, string>; close(): void }> {
  const dir = tmp('dlens-mistakes-');
  mkdirSync(join(dir, 'empty-corpus'));
  const busy: Server = createServer();
  await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', () => ok()));
  const port = (busy.address() as { port: number }).port;
  return {
    vars: {
      $FIXTURE: FIXTURE,
      $DIR: dir,
      $BUSY_PORT: String(port),
      $EMPTY_CORPUS: join(dir, 'empty-corpus'),
      $BAD_LAYERS: badCard(dir, 'bad-layers', { num_layers: 3 }),
      $BAD_HEADS: badCard(dir, 'bad-heads', { num_heads: 4 }),
      $BAD_MASK: badCard(dir, 'bad-mask', { mask_token_id: 77 }),
    },
    close: () => busy.close(),
  };
}

export const substitute = (s: string, vars: Record<string, string>) => s.replace(/\$[A-Z_]+/g, (k) => vars[k] ?? k);
