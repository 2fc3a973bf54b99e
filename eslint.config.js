// Lint gate (npm run lint, run by CI): typescript-eslint's recommended rules plus the project's own:
// no `any`, type-only imports marked as such, and no type escapes (`as never`, `as unknown as`) outside tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const TYPE_ESCAPES = [
  {
    selector: 'TSAsExpression > TSNeverKeyword.typeAnnotation',
    message: 'no `as never`: give the value its real type',
  },
  {
    selector: "TSAsExpression[expression.type='TSAsExpression'][expression.typeAnnotation.type='TSUnknownKeyword']",
    message: 'no `as unknown as`: give the value its real type',
  },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.vite/',
      'out/',
      'dist/',
      'renderer/dist/',
      'test-results/',
      'bench/tmp/',
      'assets/',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-restricted-syntax': ['error', ...TYPE_ESCAPES],
      // Prettier wraps code at 120 columns; this catches what it cannot wrap (comments). Long strings are messages.
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
    },
  },
  { files: ['test/**'], rules: { 'no-restricted-syntax': 'off' } },
  // The decoding loops read as LLaDA's generate.py does: every function in engine/decode fits on a screen.
  { files: ['engine/decode/**'], rules: { 'max-lines-per-function': ['error', { max: 50 }] } },
  // Plain Node scripts (TypeScript files get Node's globals from their types).
  { files: ['**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  // The page's one plain script, run before the bundle (renderer/index.html).
  {
    files: ['renderer/public/*.js'],
    languageOptions: {
      globals: { window: 'readonly', location: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly' },
    },
  },
  // Import boundaries (as Perfetto's check_imports): what each layer may depend on. The renderer runs in a page and
  // reads traces: it may use the engine API's types and defaults, the trace format and the metrics, nothing else of
  // the engine. Strategies and cache policies are pure rules: no model, no onnxruntime. The Electron shell talks to
  // the engine only through engine/api.
  {
    files: ['renderer/src/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/engine/**',
                '!**/engine/api',
                '!**/engine/api/types.js',
                '!**/engine/api/defaults.js',
                '!**/engine/trace',
                '!**/engine/trace/**',
                '!**/engine/metrics',
                '!**/engine/metrics/**',
              ],
              message: 'the renderer imports only engine/api types and defaults, engine/trace and engine/metrics',
            },
            {
              group: ['**/electron/**', '!**/electron/preload-api.js'],
              message: 'the renderer knows the Electron shell only through electron/preload-api (types)',
            },
            { group: ['node:*', 'onnxruntime-node'], message: 'the renderer runs in a page: no Node modules' },
          ],
        },
      ],
    },
  },
  {
    files: ['engine/strategies/**', 'engine/cache/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/model/**', 'onnxruntime-node', 'onnxruntime-*'],
              message:
                'strategies and cache policies are pure rules: they import nothing of engine/model or onnxruntime',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['electron/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/engine/**', '!**/engine/api', '!**/engine/api/**'],
              message: 'the Electron shell uses the engine only through engine/api',
            },
            { group: ['**/renderer/**'], message: 'the Electron shell does not import the renderer' },
          ],
        },
      ],
    },
  },
);
