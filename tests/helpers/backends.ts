import { TestRunner, beforeAll, describe, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import {
  BACKEND_NAMES,
  initBackend,
  type BackendName,
  type BackendOptions,
} from '../../shared/engine/backends/index.ts';

/**
 * Backends the shared suites run on: env HOPTM_TEST_BACKENDS (comma-separated), default every backend,
 * cpu,wasm,webgpu,tensorflow (scripts/setup.sh installs what webgpu and tensorflow need).
 */
export const TEST_BACKENDS: readonly BackendName[] = parseTestBackends(
  process.env.HOPTM_TEST_BACKENDS ?? BACKEND_NAMES.join(','),
);

/**
 * Options every test starts backends with. env HOPTM_TEST_WASM_THREADS sets the wasm thread count (default:
 * `defaultWasmThreads()`, 1 on 2-core machines); 2 or more tests the threaded build.
 */
export const TEST_BACKEND_OPTIONS: BackendOptions = parseBackendOptions(process.env.HOPTM_TEST_WASM_THREADS);

/** Per backend, test name -> why that test does not run there. Shown in the skipped test's title. */
export type Exclusions = Partial<Record<BackendName, Record<string, string>>>;

export interface ForEachBackendOptions {
  exclusions?: Exclusions;
  /** Defaults to `TEST_BACKENDS`. */
  backends?: readonly BackendName[];
}

/**
 * Runs the same suite once per backend: `describe(`${title} [${backend}]`)`, whose `beforeAll` initialises
 * the backend and makes it the active one. The backend is first started while the file is collected: when
 * it cannot start, its describe holds a single failing test whose error is the startup error (a loud failure,
 * never a silent skip). Excluded tests are registered as skipped, with the reason in their title; an
 * exclusion naming no test of the suite is an error (it would hide nothing, or a renamed test).
 */
export function forEachBackend(
  title: string,
  suite: (backend: BackendName) => void,
  options: ForEachBackendOptions = {},
): void {
  for (const backend of options.backends ?? TEST_BACKENDS) {
    describe(`${title} [${backend}]`, async () => {
      // Started now to know whether it starts; the active backend is left as it was for the tests
      // collected around this describe.
      const active = tf.getBackend();
      try {
        await initBackend(backend, (msg) => console.info(msg), TEST_BACKEND_OPTIONS);
      } catch (error) {
        it(`backend '${backend}' starts`, () => {
          throw error;
        });
        return;
      } finally {
        await tf.setBackend(active);
      }
      beforeAll(async () => {
        await initBackend(backend, () => {}, TEST_BACKEND_OPTIONS);
      });
      suite(backend);
      applyExclusions(backend, options.exclusions?.[backend] ?? {});
    });
  }
}

/** Marks the named tests of the suite being collected as skipped, reason in the title (as `it.skip` would). */
function applyExclusions(backend: BackendName, exclusions: Record<string, string>): void {
  const tests = TestRunner.getCurrentSuite().tasks.filter((t) => t.type === 'test');
  for (const [name, reason] of Object.entries(exclusions)) {
    const test = tests.find((t) => t.name === name);
    if (test === undefined) {
      throw new Error(`forEachBackend: exclusion on '${backend}' names no test of this suite: '${name}'`);
    }
    const titled = `${name} [excluded on ${backend}: ${reason}]`;
    test.fullName = `${test.fullName.slice(0, -name.length)}${titled}`;
    test.fullTestName = `${test.fullTestName.slice(0, -name.length)}${titled}`;
    test.name = titled;
    test.mode = 'skip';
  }
}

function parseTestBackends(list: string): BackendName[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((s) => !(BACKEND_NAMES as readonly string[]).includes(s));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(
      `HOPTM_TEST_BACKENDS='${list}': expected a comma-separated list of ${BACKEND_NAMES.join(', ')}`,
    );
  }
  return names as BackendName[];
}

function parseBackendOptions(wasmThreads: string | undefined): BackendOptions {
  if (wasmThreads === undefined || wasmThreads === '') return {};
  const threads = Number(wasmThreads);
  if (!Number.isInteger(threads))
    throw new Error(`HOPTM_TEST_WASM_THREADS='${wasmThreads}': expected an integer`);
  return { wasmThreads: threads };
}
