/**
 * The engine API's method names, below both its types (types.ts) and its argument schemas (schema.ts), which each
 * need them.
 */
// For hosts that dispatch by name (the preload, the loopback server).
export const API_METHODS = [
  'models',
  'strategies',
  'caches',
  'suites',
  'taskPrompt',
  'startRecording',
  'cancelRecording',
  'readTrace',
  'traceSize',
  'readTraceRange',
  'traces',
  'saveTrace',
  'recent',
  'bench',
  'importCheckpoint',
  'openSet',
  'setTrace',
  'setConfidenceGrids',
] as const;
export type ApiMethod = (typeof API_METHODS)[number];
