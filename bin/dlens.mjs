#!/usr/bin/env node
// Runs the TypeScript command line directly through tsx, so `npx dlens` works from a fresh checkout with no build step.
import { register } from 'tsx/esm/api';
register();
await import('../engine/cli/main.ts');
