// Type-aware lint for the whole monorepo (house style, rules 2 and 3).
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeOnly = ['node:*', 'ws'];

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', '**/test-results/**', '.tsbuild/**', '**/*.gen.*'],
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'max-params': ['error', 3],
      // AbortSignal.reason is `unknown` by design; we pass it on unchanged.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      '@typescript-eslint/require-await': 'off',
      // Configuration is parsed once, in each app's config.ts (rule 17).
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read configuration in config.ts only' }],
    },
  },
  {
    // Tests, benchmarks, build scripts and composition roots may read the environment.
    files: ['**/*.test.ts', '**/test/**', 'bench/**', 'guest/build/**', '**/config.ts', '**/main.ts', '**/e2e/**', '**/*.config.ts'],
    rules: { 'no-restricted-properties': 'off', '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/no-unsafe-member-access': 'off' },
  },
  {
    // The protocol package is pure data: zod only, no Node and no DOM (layering, rule 3).
    files: ['packages/protocol/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: nodeOnly, message: 'protocol imports zod only' }] }] },
  },
  {
    // The sandbox core never imports a transport adapter; only src/server does.
    files: ['sandbox/src/pool/**/*.ts', 'sandbox/src/runs/**/*.ts', 'sandbox/src/agent/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'node:http', message: 'only src/server speaks HTTP' }, { name: 'ws', message: 'only adapters use ws' }] },
      ],
    },
  },
  {
    // The gateway's run core owns its ports; transports and engines (HTTP, ws, tRPC, Redis, PostgreSQL) are adapters elsewhere.
    files: ['gateway/src/runs/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'node:http', message: 'the run core reaches sandboxes through its ports (runs/ports.ts); HTTP is an adapter' },
            { name: 'ws', message: 'only adapters use ws' },
            { name: 'ioredis', message: 'Redis is an adapter (gateway/src/fleet)' },
            { name: 'bullmq', message: 'Redis is an adapter (gateway/src/fleet)' },
            { name: 'pg', message: 'PostgreSQL is an adapter (gateway/src/store)' },
          ],
          patterns: [
            { group: ['@trpc/*'], message: 'tRPC is an adapter' },
            { group: ['../sandboxClient*', '../trpc/*', '../http/*', '../stream/*', '../fleet/*'], message: 'the run core imports no adapter' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node } },
  },
);
