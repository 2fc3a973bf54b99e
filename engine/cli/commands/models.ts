import { listModelDirs, readCard } from '../../model/load.js';
import { parse, type Command } from '../args.js';

export const modelsCommand: Command = {
  name: 'models',
  usage: 'dlens models [--json]',
  summary: 'the bundled models and those in `DLENS_MODEL_PATH` folders (the default marked `*`)',
  run,
};

async function run(argv: string[]) {
  const { values } = parse(modelsCommand, argv, { json: { type: 'boolean' } });
  const models = listModelDirs().map((dir) => {
    const c = readCard(dir);
    return {
      name: c.name,
      dir,
      vocab_size: c.vocab_size,
      layers: c.num_layers,
      max_positions: c.max_positions,
      default: c.name === 'dlens-tiny',
    };
  });
  if (values.json) {
    console.log(JSON.stringify({ models }));
    return;
  }
  for (const m of models)
    console.log(
      `${m.default ? '*' : ' '} ${m.name.padEnd(16)} ${m.layers} layers, vocab ${m.vocab_size}, ${m.max_positions} positions  ${m.dir}`,
    );
}
