import { describe, it, expect } from 'vitest';
import { current, generated } from '../../scripts/cli-docs.js';
import { COMMANDS } from '../../engine/cli/commands/index.js';

describe('docs/cli.md comes from the commands', () => {
  it("holds every command's usage and summary as `dlens COMMAND --help` prints it (npx tsx scripts/cli-docs.ts)", () => {
    expect(current()).toBe(generated());
    for (const c of COMMANDS) {
      expect(c.summary.length, c.name).toBeGreaterThan(20);
      expect(current()).toContain(c.usage);
    }
  });
});
