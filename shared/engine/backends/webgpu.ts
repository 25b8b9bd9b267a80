import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../tf.ts';
import { activate } from './activate.ts';
import { BackendStartError, messageOf } from './errors.ts';
import type { StartedBackend } from './types.ts';

/** The part of `GPU` we use; tests inject one to exercise the failure paths. */
export type GpuLike = Pick<GPU, 'requestAdapter'>;

export interface WebGpuStartOptions {
  /** Defaults to Dawn's `GPU` (npm `webgpu`), created once per process. */
  gpu?: GpuLike;
}

/** A GPU adapter, described for logs, and whether it is a software rasteriser. */
export interface AdapterReport {
  description: string;
  software: boolean;
}

const NO_ADAPTER =
  'no Vulkan adapter (is libvulkan1 + a Vulkan driver installed? see scripts/install-system.sh; in a container ' +
  "NVIDIA_DRIVER_CAPABILITIES must include 'graphics')";
const SOFTWARE_RASTERISER = /llvmpipe|lavapipe|swiftshader|software/i;

let dawn: Promise<GPU> | undefined;

/**
 * Dawn's `GPU` (platform.md section 2): Dawn complains without XDG_RUNTIME_DIR, and its WebGPU classes
 * (GPUBufferUsage, ...) must be globals, as in a browser. Created once; a failed load may be retried.
 */
function loadDawn(): Promise<GPU> {
  dawn ??= (async () => {
    if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'hoptm-xdg-'));
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    return create([]);
  })().catch((error: unknown) => {
    dawn = undefined;
    throw new BackendStartError('webgpu', `cannot load Dawn (npm 'webgpu'): ${messageOf(error)}`, {
      cause: error,
    });
  });
  return dawn;
}

/**
 * tfjs-backend-webgpu registers itself on import only if it sees `navigator.gpu`; platform.md also has it
 * see a `window`. Node 20 has no `navigator`; Node 21+ has one without `gpu`.
 */
function exposeToTfjs(gpu: GpuLike): void {
  const scope = globalThis as { navigator?: object; window?: unknown };
  if (scope.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else {
    Object.defineProperty(scope.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
  scope.window ??= globalThis;
  // tfjs-backend-webgpu's readSync (dataSync/arraySync) reads back through an OffscreenCanvas, which Node
  // does not have, and Dawn offers no synchronous map: say so instead of "OffscreenCanvas is not defined".
  (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas ??= class NoSyncReadback {
    constructor() {
      throw new Error(
        "synchronous reads (dataSync, arraySync, bufferSync) are not available on the 'webgpu' backend under Node: use await tensor.data() / array()",
      );
    }
  };
}

/** The same adapter request as tfjs-backend-webgpu's, so that both get the same adapter. */
async function requestAdapter(gpu: GpuLike): Promise<GPUAdapter> {
  const powerPreference = prefersLowPower() ? 'low-power' : 'high-performance';
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference });
  } catch (error) {
    throw new BackendStartError('webgpu', `${NO_ADAPTER}: requestAdapter threw ${messageOf(error)}`, {
      cause: error,
    });
  }
  if (adapter === null) throw new BackendStartError('webgpu', NO_ADAPTER);
  return adapter;
}

/** tfjs-backend-webgpu's flag; it exists only once that package is loaded (and then defaults to false). */
function prefersLowPower(): boolean {
  try {
    return tf.env().getBool('WEBGPU_USE_LOW_POWER_GPU');
  } catch {
    return false;
  }
}

export function describeAdapter(info: GPUAdapterInfo): AdapterReport {
  const fields = [info.description, info.vendor, info.architecture, info.device].filter((f) => f !== '');
  const description = info.description !== '' ? info.description : fields.join(' ') || 'unnamed adapter';
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { description, software: fallback || fields.some((f) => SOFTWARE_RASTERISER.test(f)) };
}

/** Which adapter `start()` would get, without starting tfjs's backend (for `auto`). */
export async function probe(options: WebGpuStartOptions = {}): Promise<AdapterReport> {
  const adapter = await requestAdapter(options.gpu ?? (await loadDawn()));
  return describeAdapter(adapter.info);
}

/**
 * WebGPU through Dawn on Vulkan: a hardware GPU (NVIDIA ICD) or, on CPU-only machines, Mesa's lavapipe
 * (>= 25, from bookworm-backports; scripts/install-system.sh).
 */
export async function start(options: WebGpuStartOptions = {}): Promise<StartedBackend> {
  const gpu = options.gpu ?? (await loadDawn());
  const report = describeAdapter((await requestAdapter(gpu)).info);
  if (tf.engine().registry['webgpu'] === undefined) {
    exposeToTfjs(gpu);
    try {
      await import('@tensorflow/tfjs-backend-webgpu');
    } catch (error) {
      throw new BackendStartError(
        'webgpu',
        `cannot load @tensorflow/tfjs-backend-webgpu: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
    if (tf.findBackendFactory('webgpu') === null) {
      throw new BackendStartError(
        'webgpu',
        '@tensorflow/tfjs-backend-webgpu did not register (no navigator.gpu at import?)',
      );
    }
  }
  // Small kernels on values not yet uploaded run on the CPU and read their input synchronously, which
  // cannot work under Node (see exposeToTfjs); Tile, used by the reduction gradients, is one of them.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  await activate('webgpu');
  return {
    name: 'webgpu',
    adapter: report.software ? `${report.description} (software)` : report.description,
  };
}
