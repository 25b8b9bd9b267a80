import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  BACKEND_NAMES,
  initBackend,
  type BackendInfo,
  type BackendName,
} from '../../shared/engine/backends/index.ts';

/** Why a backend is left out when `--backends` is not given; naming it in `--backends` runs it anyway. */
export const DEFAULT_EXCLUDED: Partial<Record<BackendName, string>> = {
  cpu: 'excluded by default: pure JavaScript, ~75 s per meta-gradient inner step idle (~800 s under load); name it in --backends to run it',
};

/** The backends a benchmark runs: `--backends a,b` as given, else every backend but DEFAULT_EXCLUDED. */
export function requestedBackends(
  arg: string | undefined,
  log: (m: string) => void,
): { names: BackendName[]; excluded: Record<string, string>; explicit: boolean } {
  if (arg !== undefined) {
    const names = arg.split(',').map((s) => s.trim());
    const bad = names.filter((n) => !(BACKEND_NAMES as readonly string[]).includes(n));
    if (bad.length > 0)
      throw new Error(
        `bench: unknown backend(s) ${bad.join(', ')}; expected some of ${BACKEND_NAMES.join(', ')}`,
      );
    return { names: names as BackendName[], excluded: {}, explicit: true };
  }
  const excluded: Record<string, string> = {};
  for (const [name, why] of Object.entries(DEFAULT_EXCLUDED)) {
    excluded[name] = why;
    log(`bench: ${name} ${why}`);
  }
  // auto's order (fastest first): the first backend also gets the memory measurement, and runs on a fresh
  // process heap rather than after the slower ones.
  const names = [...BACKEND_NAMES].reverse().filter((n) => !(n in excluded));
  return { names, excluded, explicit: false };
}

/** Where a benchmark records the backends it did not time, and whether the user named them. */
export interface BackendRun {
  excluded: Record<string, string>;
  unavailable: Record<string, string>;
  explicit: boolean;
}

/**
 * Starts a backend; null when it cannot start here (recorded in `unavailable`) or when, not named in --backends,
 * it is webgpu on a software rasteriser (recorded in `excluded`: minutes per step on llvmpipe).
 */
export async function startBackend(
  name: BackendName,
  run: BackendRun,
  log: (m: string) => void,
): Promise<BackendInfo | null> {
  let info: BackendInfo;
  try {
    info = await initBackend(name, log);
  } catch (error) {
    run.unavailable[name] = (error as Error).message;
    log(`bench: ${name} unavailable: ${(error as Error).message}`);
    return null;
  }
  if (!run.explicit && name === 'webgpu' && info.adapter?.endsWith('(software)') === true) {
    run.excluded[name] =
      `excluded by default: adapter '${info.adapter}' is a software rasteriser (~6.6 s per meta-gradient inner step idle, 10x wasm); name it in --backends to run it`;
    log(`bench: webgpu ${run.excluded[name]}`);
    return null;
  }
  return info;
}

/** Writes a benchmark's JSON result (pretty, trailing newline). */
export function writeResult(path: string, result: unknown, log: (m: string) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  log(`bench: wrote ${path}`);
}
