import { defineConfig } from 'vitest/config';

// One run, four projects: fast unit tests, the engine parity/second-order suites (every backend), the
// integration tests against real servers (Temporal, GCS emulator), and the offline Pulumi policy tests. `npm test` runs all of them; `npm run test:parity` / `test:infra` run one.
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
          exclude: ['tests/parity/**', 'tests/integration/**'],
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
        // Against real servers: a Temporal dev server and fake-gcs-server, started once by the global setup.
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          globalSetup: ['tests/setup/servers.ts'],
          setupFiles: ['tests/setup/integration.ts'],
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
