import { tf } from '../tf.ts';
import type { KernelBackend, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Runs other kernels of the same backend from inside a kernel, the way tfjs's own backends compose kernels
 * (kernel functions on `TensorInfo`s, not ops: nothing is recorded on the gradient tape and no engine tensor
 * is created). Every result is owned by the scope and released by `dispose()`, except the ones `keep()` hands
 * over to the caller.
 */
export class KernelScope {
  private readonly owned: TensorInfo[] = [];

  constructor(
    private readonly backend: KernelBackend,
    private readonly backendName: string,
  ) {}

  run(kernelName: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: object = {}): TensorInfo {
    const kernel = tf.getKernel(kernelName, this.backendName);
    if (kernel === undefined) {
      throw new Error(`KernelScope: backend '${this.backendName}' has no '${kernelName}' kernel`);
    }
    // Concat/AddN/Pack take their inputs as an array; the others as a named map.
    const out = kernel.kernelFunc({
      inputs: inputs as unknown as Record<string, TensorInfo>,
      backend: this.backend,
      attrs: attrs as NamedAttrMap,
    });
    if (Array.isArray(out)) {
      this.owned.push(...out);
      throw new Error(`KernelScope: '${kernelName}' returned ${out.length} outputs, expected one`);
    }
    this.owned.push(out);
    return out;
  }

  /** Releases `info` now (it must come from this scope). */
  release(info: TensorInfo): void {
    const i = this.owned.indexOf(info);
    if (i < 0) throw new Error('KernelScope.release: not a result of this scope');
    this.owned.splice(i, 1);
    this.backend.disposeData(info.dataId);
  }

  /** Hands `info` to the caller, who then owns it (a kernel's output). */
  keep(info: TensorInfo): TensorInfo {
    const i = this.owned.indexOf(info);
    if (i < 0) throw new Error('KernelScope.keep: not a result of this scope');
    this.owned.splice(i, 1);
    return info;
  }

  dispose(): void {
    for (const info of this.owned.splice(0)) this.backend.disposeData(info.dataId);
  }
}

/** Runs `body` with a fresh scope and disposes everything it did not keep, also when it throws. */
export function withKernelScope<T>(
  backend: KernelBackend,
  backendName: string,
  body: (scope: KernelScope) => T,
): T {
  const scope = new KernelScope(backend, backendName);
  try {
    return body(scope);
  } finally {
    scope.dispose();
  }
}
