import { defineConfig } from 'vitest/config';

// One run, three projects: fast unit tests, the engine parity/second-order suites (every backend), and the
// offline Pulumi policy tests. `npm test` runs all of them; `npm run test:parity` / `test:infra` run one.
export default defineConfig({
  test: {
    testTimeout: 0,
    hookTimeout: 0,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/parity/**'],
          setupFiles: ['tests/setup/engine.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'parity',
          include: ['tests/parity/**/*.test.ts'],
          setupFiles: ['tests/setup/engine.ts'],
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: { name: 'infra', include: ['infra/pulumi/tests/**/*.test.ts'] },
      },
    ],
  },
});
