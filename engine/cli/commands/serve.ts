import { statSync } from 'node:fs';
import { DlensError } from '../../errors.js';
import { openTrace, LAZY_ABOVE } from '../../trace/trace.js';
import { fileSource } from '../../trace/file-source.js';
import { intOpt, fileArg, parse, type Command } from '../args.js';

export const serveCommand: Command = {
  name: 'serve',
  usage: `dlens serve [--host 127.0.0.1] [--port N] [--traces-dir DIR] [--set SET]... [FILE.dlens...]
               (the app in a browser, on loopback, behind a per-run token; prints the URL)`,
  summary:
    "the app in a browser on loopback behind a per-run token (docs/security.md); files named here open in the page (traces above 64 MiB lazily, through HTTP range requests); `--traces-dir` lists that folder's traces on the start page; `--set SET` opens a trace set in the Set view (docs/trace-set.md)",
  run,
};

async function run(argv: string[]) {
  const { values, positionals } = parse(
    serveCommand,
    argv,
    {
      host: { type: 'string' },
      port: { type: 'string' },
      'traces-dir': { type: 'string' },
      set: { type: 'string', multiple: true },
      json: { type: 'boolean' },
    },
    'some',
  );
  const { serve } = await import('../../server/serve.js');
  const { createEngineService, defaultServiceOptions } = await import('../../api/service.js');
  const { REPO_ROOT } = await import('../../model/load.js');
  const { join, resolve } = await import('node:path');
  const opts = defaultServiceOptions();
  if (values['traces-dir']) opts.tracesDir = resolve(values['traces-dir'] as string);
  const service = createEngineService(opts);
  const { resolve: res } = await import('node:path');
  // The files on the command line are the person's choice: the page may open them (and is told to).
  for (const f of positionals) {
    fileArg(f, '');
    service.allow(f);
    try {
      // A large trace is checked as the page will open it: header and per-position tensors, not all its layers.
      if (statSync(f).size > LAZY_ABOVE) {
        const src = fileSource(f);
        try {
          await openTrace(src);
        } finally {
          src.close();
        }
      } else await service.readTrace(f);
    } catch (e) {
      throw new DlensError(`${f}: ${(e as Error).message}`);
    }
  }
  // Trace sets named here: checked now (a folder that is not a set is refused before the server starts), and each
  // index made ready as the page will ask for it (read and compressed: a quarter of a second for 10,000 rows here).
  const sets = ((values.set as string[] | undefined) ?? []).map((d) => resolve(d));
  for (const d of sets) {
    service.allowSet(d);
    await service.setIndexGzip(d);
  }
  const port = intOpt(values.port as string | undefined, '--port') ?? 8765;
  if (port < 0 || port > 65535)
    throw new DlensError(`--port must be a port number in 0..65535 (0: any free port), got ${port}`);
  const served = await serve({
    host: values.host as string | undefined,
    port,
    rendererDir: join(REPO_ROOT, '.vite', 'renderer', 'main_window'),
    service,
  });
  const opens = [
    ...positionals.map((f) => `&open=${encodeURIComponent(res(f))}`),
    ...sets.map((d) => `&set=${encodeURIComponent(d)}`),
  ];
  const s = { ...served, url: served.url + opens.join('') };
  if (values.json)
    console.log(JSON.stringify({ url: s.url, port: s.port, token: s.token, traces_dir: opts.tracesDir }));
  else
    console.log(
      `dlens is serving on loopback. Open this URL in a browser (it carries this run's token):\n  ${s.url}\nRecordings go to ${opts.tracesDir}. Ctrl+C stops.`,
    );
  await new Promise<void>((ok) => {
    const stop = () => {
      void s
        .close()
        .then(() => service.close())
        .then(ok);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
