/** The tfjs backends this project can run on. `tensorflow` is tfjs-node(-gpu)'s backend name. */
export const BACKEND_NAMES = ['cpu', 'wasm', 'webgpu', 'tensorflow'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** A backend, or `auto`: the fastest one that starts here (see `initBackend`). */
export const BACKEND_CHOICES = [...BACKEND_NAMES, 'auto'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** What one backend's `start()` reports once the backend is active. */
export interface StartedBackend {
  name: BackendName;
  /** The device behind it: a GPU adapter description ('llvmpipe: Mesa 25...'), or the tfjs-node package. */
  adapter?: string;
  /** Threads the backend computes with (wasm: XNNPACK's thread pool). */
  threads?: number;
}

/** What `initBackend` returns. */
export interface BackendInfo extends StartedBackend {
  /** Wall time of this `initBackend` call (loading, device request, kernel registration, activation). */
  startupMs: number;
  /** Only for `auto`: why this backend was chosen over the ones before it. */
  reason?: string;
}

/** Options that only some backends read; `initBackend` passes them through. */
export interface BackendOptions {
  /**
   * wasm: XNNPACK threads (1 = the single-threaded SIMD build). Fixed by the first wasm start in a process.
   * Default: `defaultWasmThreads()` (1 below 4 cores, else one per core, at most 8).
   */
  wasmThreads?: number;
  /**
   * tensorflow: folders whose node_modules are searched for @tensorflow/tfjs-node-gpu, then
   * @tensorflow/tfjs-node. Default: `.tools/tfjs-node-gpu`, `.tools/tfjs-node` (where
   * scripts/install-tfjs-node.sh installs them), then the project root.
   */
  tfjsNodeRoots?: readonly string[];
  /**
   * tensorflow: TensorFlow's intra-op threads. Fixed when libtensorflow loads (the first tensorflow start in
   * a process); `TF_NUM_INTRAOP_THREADS`, when set, wins. Default: TensorFlow's own (one per core). Callers
   * that know the model pass `tensorflowThreadsFor(model)`.
   */
  tensorflowThreads?: number;
}
