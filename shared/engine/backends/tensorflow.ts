import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../tf.ts';
import { activate } from './activate.ts';
import { loadOpLibrary, registerTensorflowKernels } from '../kernels/tensorflow/register.ts';
import { BackendStartError, messageOf } from './errors.ts';
import type { StartedBackend } from './types.ts';

/** The packages that provide tfjs's `tensorflow` backend (libtensorflow through N-API), GPU build first. */
export const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type TfjsNodePackage = (typeof TFJS_NODE_PACKAGES)[number];

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Where each package is looked for, in order. Neither is in package.json: their install script downloads
 * libtensorflow, which the registry-only machines cannot reach, and `npm ci` re-runs it. So
 * `scripts/install-tfjs-node.sh` builds them against the TensorFlow wheel from PyPI into `.tools/` (ignored,
 * untouched by `npm ci`); the project root comes last, for a machine where someone installed one into
 * node_modules the ordinary way.
 */
export const DEFAULT_TFJS_NODE_ROOTS: readonly string[] = [
  join(REPO_ROOT, '.tools/tfjs-node-gpu'),
  join(REPO_ROOT, '.tools/tfjs-node'),
  REPO_ROOT,
];

export interface TensorflowStartOptions {
  /** Folders whose node_modules are searched for the packages (default `DEFAULT_TFJS_NODE_ROOTS`). */
  roots?: readonly string[];
  /**
   * Whether an NVIDIA kernel driver is loaded (default: `/proc/driver/nvidia/version` exists, as it does in
   * containers given a GPU). Without one, tfjs-node-gpu would run on the CPU with the GPU build's
   * TensorFlow, so it is passed over for tfjs-node.
   */
  nvidiaDriver?: boolean;
  /** Intra-op threads for libtensorflow (see BackendOptions.tensorflowThreads). */
  threads?: number;
}

/**
 * Activation elements per image at the first layer (width x imageSize^2) below which one intra-op thread
 * beats one per core. TensorFlow splits every op over its intra-op pool; on small activations the hand-off
 * costs more than the split saves. Measured on 2 cores (docs/backends.md): the mnist-ipc1 model (16 x 32^2)
 * distils 30 iterations in 42 s on 1 thread against 65 s on 2; the PathMNIST shape (128 x 32^2) takes
 * ~325 ms per meta-gradient inner step on 2 threads against ~414 ms on 1.
 */
export const SMALL_MODEL_ACTIVATIONS = 65_536;

/** The intra-op thread count for a ConvNet of this size on this machine. */
export function tensorflowThreadsFor(
  model: { width: number; imageSize: number },
  cores = availableParallelism(),
): number {
  return model.width * model.imageSize ** 2 < SMALL_MODEL_ACTIVATIONS ? 1 : cores;
}

const NVIDIA_DRIVER_FILE = '/proc/driver/nvidia/version';

/** The path `require` would load `name` from, looking in each root's node_modules in turn; undefined if none has it. */
export function locate(name: TfjsNodePackage, roots: readonly string[]): string | undefined {
  for (const root of roots) {
    try {
      return createRequire(join(root, 'package.json')).resolve(name);
    } catch {
      // not in this root
    }
  }
  return undefined;
}

const HOW_TO_INSTALL: Record<TfjsNodePackage, string> = {
  '@tensorflow/tfjs-node-gpu': 'scripts/install-tfjs-node.sh --gpu',
  '@tensorflow/tfjs-node': 'scripts/install-tfjs-node.sh',
};

/** The package loaded in this process (there can be only one: both register the backend `tensorflow`). */
let loaded: TfjsNodePackage | undefined;

/**
 * The project's TensorFlow op library (fused instance norm kernels, CPU only), loaded beside tfjs-node;
 * undefined with tfjs-node-gpu, whose ops would have to copy to the host for CPU kernels.
 */
let opLibrary: ReturnType<typeof loadOpLibrary> | undefined;

/** Whether the op library is loaded, and why not; undefined before tfjs-node is loaded, or with tfjs-node-gpu. */
export function opLibraryStatus(): ReturnType<typeof loadOpLibrary> | undefined {
  return opLibrary;
}

/** The folder whose node_modules holds the package at `path` (its install root). */
function packageRoot(path: string): string {
  const at = path.lastIndexOf(`${sep}node_modules${sep}`);
  return at < 0 ? dirname(path) : path.slice(0, at);
}

/**
 * Loads the first package found (GPU build first) and activates its backend. Loading it registers the
 * `tensorflow` backend into the project's tfjs-core, which it resolves from the project's node_modules
 * (the install script removes the copies npm put beside it); the gradient fixes live in tfjs-core and so
 * apply unchanged. Loaded once per process: a second call only activates it.
 */
export async function start(options: TensorflowStartOptions = {}): Promise<StartedBackend> {
  if (loaded !== undefined && tf.findBackendFactory('tensorflow') !== null) {
    await activate('tensorflow');
    return { name: 'tensorflow', adapter: describe(loaded), threads: intraOpThreads() };
  }
  const roots = options.roots ?? DEFAULT_TFJS_NODE_ROOTS;
  const failures: string[] = [];
  for (const name of TFJS_NODE_PACKAGES) {
    const path = locate(name, roots);
    if (path === undefined) {
      failures.push(`${name} is not installed (${HOW_TO_INSTALL[name]})`);
      continue;
    }
    if (name === '@tensorflow/tfjs-node-gpu' && !(options.nvidiaDriver ?? existsSync(NVIDIA_DRIVER_FILE))) {
      failures.push(`${name} is installed but there is no NVIDIA driver (${NVIDIA_DRIVER_FILE})`);
      continue;
    }
    // libtensorflow logs its CPU features and oneDNN at INFO level on load; keep warnings and errors.
    process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
    // Read once, when libtensorflow creates its context on load.
    if (options.threads !== undefined) process.env.TF_NUM_INTRAOP_THREADS ??= String(options.threads);
    try {
      createRequire(import.meta.url)(path);
    } catch (error) {
      failures.push(`${name} (${path}) failed to load: ${messageOf(error)}`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow') === null) {
      throw new BackendStartError(
        'tensorflow',
        `${name} loaded but registered no 'tensorflow' backend in this tfjs-core (a second @tensorflow/tfjs-core copy beside ${path}? versions must match ${tf.version_core})`,
      );
    }
    loaded = name;
    opLibrary = name === '@tensorflow/tfjs-node' ? loadOpLibrary(packageRoot(path)) : undefined;
    registerTensorflowKernels({ nativeOps: opLibrary?.loaded === true });
    await activate('tensorflow');
    return { name: 'tensorflow', adapter: describe(name), threads: intraOpThreads() };
  }
  throw new BackendStartError('tensorflow', failures.join('; '));
}

/** '@tensorflow/tfjs-node (TensorFlow 2.12.1, CPU)': the package, its libtensorflow and the device it computes on. */
function describe(name: TfjsNodePackage): string {
  const backend = tf.backend() as { binding?: { TF_Version?: unknown }; isUsingGpuDevice?: unknown };
  const version =
    typeof backend.binding?.TF_Version === 'string'
      ? `TensorFlow ${backend.binding.TF_Version}`
      : 'TensorFlow ?';
  const ops =
    opLibrary === undefined
      ? ''
      : opLibrary.loaded
        ? ', fused instance norm'
        : `, composite instance norm: ${opLibrary.why} (scripts/install-tfjs-node.sh builds it)`;
  return `${name} (${version}, ${backend.isUsingGpuDevice === true ? 'GPU' : 'CPU'}${ops})`;
}

/** The intra-op threads libtensorflow runs with: TF_NUM_INTRAOP_THREADS if set, else one per core. */
function intraOpThreads(): number {
  const set = Number(process.env.TF_NUM_INTRAOP_THREADS);
  return Number.isInteger(set) && set > 0 ? set : availableParallelism();
}
