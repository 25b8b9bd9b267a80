import { availableParallelism } from 'node:os';
import { tf } from '../tf.ts';
import { assertWasmKernelsInForce, registerWasmKernels } from '../kernels/wasm/register.ts';
import { activate } from './activate.ts';
import { BackendStartError, messageOf } from './errors.ts';
import type { StartedBackend } from './types.ts';
import { withNodeThreads } from './wasm-threads.ts';

type WasmPackage = typeof import('@tensorflow/tfjs-backend-wasm');

/** tfjs-backend-wasm pre-creates 8 pthread workers and caps XNNPACK's pool at 8. */
export const MAX_WASM_THREADS = 8;

/** Below this many cores the default is the single-threaded build. */
export const MIN_CORES_FOR_WASM_THREADS = 4;

/**
 * One thread per core (at most `MAX_WASM_THREADS`) from `MIN_CORES_FOR_WASM_THREADS` cores up, else 1.
 * On the 2-core build machines 2 threads made XNNPACK's conv2d/matMul ~1.9x faster when the machine was
 * idle, but a whole meta-gradient inner step ~30% slower while other jobs shared it (docs/backends.md).
 */
export function defaultWasmThreads(cores = availableParallelism()): number {
  return cores < MIN_CORES_FOR_WASM_THREADS ? 1 : Math.min(cores, MAX_WASM_THREADS);
}

export interface WasmStartOptions {
  /** XNNPACK threads; 1 loads the single-threaded SIMD build. Fixed by the first start in a process. */
  threads?: number;
}

/**
 * WebAssembly + SIMD through XNNPACK, with our kernels (`kernels/wasm/register.ts`): the two the package
 * lacks (Conv2DBackpropFilter, UnsortedSegmentSum) and a fast Conv2DBackpropInput. With `threads > 1` it runs
 * the threaded build, which tfjs does not enable under Node by itself (`wasm-threads.ts`).
 */
export async function start(options: WasmStartOptions = {}): Promise<StartedBackend> {
  const threads = options.threads ?? defaultWasmThreads();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new BackendStartError(
      'wasm',
      `threads must be an integer in [1, ${MAX_WASM_THREADS}], got ${threads}`,
    );
  }
  let wasm: WasmPackage;
  try {
    wasm = await import('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    throw new BackendStartError('wasm', `cannot load @tensorflow/tfjs-backend-wasm: ${messageOf(error)}`, {
      cause: error,
    });
  }
  registerWasmKernels();
  assertWasmKernelsInForce();

  if (tf.engine().registry['wasm'] !== undefined) {
    await activate('wasm');
    const running = wasm.getThreadsCount();
    if (options.threads !== undefined && running !== options.threads) {
      throw new BackendStartError(
        'wasm',
        `asked for ${options.threads} threads, but the wasm backend of this process already runs ${running} (fixed by its first start)`,
      );
    }
    return { name: 'wasm', threads: running };
  }

  wasm.setThreadsCount(threads);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threads > 1);
  try {
    await (threads > 1 ? withNodeThreads(threads, () => activate('wasm')) : activate('wasm'));
  } catch (error) {
    if (threads === 1 || !(error instanceof BackendStartError)) throw error;
    throw new BackendStartError(
      'wasm',
      `${error.reason} (with ${threads} threads; threads: 1 avoids the threaded build)`,
      {
        cause: error,
      },
    );
  }
  const running = wasm.getThreadsCount();
  if (running !== threads) {
    throw new BackendStartError('wasm', `asked for ${threads} threads, but XNNPACK runs ${running}`);
  }
  return { name: 'wasm', threads: running };
}
