// Lint gate (npm run lint, run by CI): typescript-eslint's recommended rules plus the project's own:
// no `any`, type-only imports marked as such, and no type escapes (`as never`, `as unknown as`) outside tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const TYPE_ESCAPES = [
  { selector: "TSAsExpression > TSNeverKeyword.typeAnnotation", message: 'no `as never`: give the value its real type' },
  { selector: "TSAsExpression[expression.type='TSAsExpression'][expression.typeAnnotation.type='TSUnknownKeyword']", message: 'no `as unknown as`: give the value its real type' },
];

export default tseslint.config(
  { ignores: ['node_modules/', '.vite/', 'out/', 'dist/', 'renderer/dist/', 'test-results/', 'bench/tmp/', 'assets/', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-restricted-syntax': ['error', ...TYPE_ESCAPES],
    },
  },
  { files: ['test/**'], rules: { 'no-restricted-syntax': 'off' } },
);
