// @ts-check
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no engine, no storage clients.
const sandboxForbidden = [
  'node:*',
  'fs',
  'path',
  'os',
  'crypto',
  'child_process',
  'worker_threads',
  'http',
  'https',
  'net',
  'zlib',
  '@tensorflow/*',
  '@google-cloud/*',
  '**/shared/engine/**',
  '**/shared/storage/**',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.tools/**',
      '.cache/**',
      'runs/**',
      'dist/**',
      'infra/pulumi/node_modules/**',
      'infra/pulumi/bin/**',
      'tests/fixtures/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: sandboxForbidden }] },
  },
);
