/**
 * The one place that selects the tfjs backend (a process-wide global). Entry points call `initBackend` once
 * at startup, log the result and pass `info.name` on; tests switch between backends with it.
 */
import * as cpu from './cpu.ts';
import { BackendStartError, messageOf } from './errors.ts';
import * as tensorflow from './tensorflow.ts';
import {
  BACKEND_CHOICES,
  type BackendChoice,
  type BackendInfo,
  type BackendName,
  type BackendOptions,
  type StartedBackend,
} from './types.ts';
import * as wasm from './wasm.ts';
import * as webgpu from './webgpu.ts';

export { BACKEND_CHOICES, BACKEND_NAMES } from './types.ts';
export type { BackendChoice, BackendInfo, BackendName, BackendOptions, StartedBackend } from './types.ts';
export { BackendStartError } from './errors.ts';
export { defaultWasmThreads } from './wasm.ts';
export { tensorflowThreadsFor } from './tensorflow.ts';

/** Parses a backend choice (CLI flag, config), refusing unknown names with the list of valid ones. */
export function parseBackendChoice(s: string): BackendChoice {
  const choice = s.trim().toLowerCase();
  if ((BACKEND_CHOICES as readonly string[]).includes(choice)) return choice as BackendChoice;
  throw new Error(
    `unknown backend '${s}': expected one of ${BACKEND_CHOICES.map((c) => `'${c}'`).join(', ')}`,
  );
}

export type Log = (msg: string) => void;

/**
 * Makes a backend ready and active (`tf.setBackend`). A named backend that cannot start throws a
 * `BackendStartError` naming it and the cause: it never falls back. `auto` takes the first of
 *   1. `tensorflow`: @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (scripts/install-tfjs-node.sh), if
 *      installed and it loads;
 *   2. `webgpu`: if the adapter is a hardware GPU (not lavapipe/llvmpipe/SwiftShader);
 *   3. `wasm`;
 *   4. `cpu`;
 * and logs which one it chose and why the ones before it were passed over. Calling it again (same or
 * another backend) switches backends; each is initialised once per process.
 */
export async function initBackend(
  choice: BackendChoice,
  log: Log = (msg) => console.info(msg),
  options: BackendOptions = {},
): Promise<BackendInfo> {
  const t0 = performance.now();
  if (choice === 'auto') {
    const { started, reason } = await chooseAuto(options);
    const info: BackendInfo = { ...started, startupMs: performance.now() - t0, reason };
    log(`backend: auto chose '${info.name}'${details(info)} in ${info.startupMs.toFixed(0)} ms: ${reason}`);
    return info;
  }
  const info: BackendInfo = {
    ...(await startOne(parseBackendChoice(choice) as BackendName, options)),
    startupMs: 0,
  };
  info.startupMs = performance.now() - t0;
  log(`backend: '${info.name}'${details(info)} ready in ${info.startupMs.toFixed(0)} ms`);
  return info;
}

function startOne(name: BackendName, options: BackendOptions): Promise<StartedBackend> {
  switch (name) {
    case 'cpu':
      return cpu.start();
    case 'wasm':
      return wasm.start({ threads: options.wasmThreads });
    case 'webgpu':
      return webgpu.start();
    case 'tensorflow':
      return tensorflow.start({ roots: options.tfjsNodeRoots, threads: options.tensorflowThreads });
  }
}

async function chooseAuto(options: BackendOptions): Promise<{ started: StartedBackend; reason: string }> {
  const passed: string[] = [];
  const because = (why: string) => (passed.length > 0 ? `${why}; passed over: ${passed.join('; ')}` : why);
  const attempt = async (name: BackendName, why: string) => {
    try {
      return { started: await startOne(name, options), reason: because(why) };
    } catch (error) {
      passed.push(`${name}: ${error instanceof BackendStartError ? error.reason : messageOf(error)}`);
      return undefined;
    }
  };

  const viaTensorflow = await attempt('tensorflow', 'tfjs-node (libtensorflow) is installed');
  if (viaTensorflow) return viaTensorflow;

  try {
    const adapter = await webgpu.probe();
    if (adapter.software) {
      passed.push(`webgpu: adapter '${adapter.description}' is a software rasteriser (slower than wasm)`);
    } else {
      const gpu = await attempt('webgpu', `hardware GPU adapter '${adapter.description}'`);
      if (gpu) return gpu;
    }
  } catch (error) {
    passed.push(`webgpu: ${error instanceof BackendStartError ? error.reason : messageOf(error)}`);
  }

  const viaWasm = await attempt('wasm', 'WebAssembly SIMD (XNNPACK) is the fastest CPU backend');
  if (viaWasm) return viaWasm;
  const viaCpu = await attempt('cpu', 'the pure-JS reference backend always starts');
  if (viaCpu) return viaCpu;
  throw new Error(`backend 'auto' found no backend that starts: ${passed.join('; ')}`);
}

function details(info: StartedBackend): string {
  const parts = [info.adapter, info.threads === undefined ? undefined : `${info.threads} thread(s)`];
  const shown = parts.filter((p) => p !== undefined);
  return shown.length > 0 ? ` (${shown.join(', ')})` : '';
}
