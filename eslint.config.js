// @ts-check
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.doorbell/', 'bench-results/', 'tools/'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test collects the promises of test() and describe() itself.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node.js APIs, and activities by type only.
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'workflows must be deterministic: move Node.js work into an activity' },
            { group: ['../activities/*', '!../activities/types.js', '!../activities/index.js'], message: 'workflows reach activities through proxyActivities only' },
            { group: ['../activities/index.js', '../activities/types.js'], allowTypeImports: true, message: 'import activity modules with `import type` only' },
          ],
          paths: ['crypto', 'fs', 'http', 'https', 'net', 'os', 'path', 'mongodb', 'undici', 'pino', 'express'].map((name) => ({
            name,
            message: 'workflows must be deterministic: move I/O into an activity',
          })),
        },
      ],
    },
  },
);
