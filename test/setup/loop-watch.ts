import { afterAll, expect } from 'vitest';

/**
 * Names the test that holds a worker's thread for long. A vitest worker must answer its runner within 60 s; a longer
 * synchronous stretch fails the whole run with "Timeout calling onTaskUpdate" and no test to blame. This says which.
 */
const TICK_MS = 1000;
const WARN_MS = Number(process.env.DLENS_LOOP_WARN_MS ?? 20_000);
let last = performance.now();
const timer = setInterval(() => {
  const now = performance.now();
  const held = now - last - TICK_MS;
  last = now;
  if (held > WARN_MS)
    process.stderr.write(
      `loop-watch: the thread was held for ${(held / 1000).toFixed(1)} s in "${expect.getState().currentTestName ?? 'setup'}" (${expect.getState().testPath})\n`,
    );
}, TICK_MS);
timer.unref();
afterAll(() => clearInterval(timer));
