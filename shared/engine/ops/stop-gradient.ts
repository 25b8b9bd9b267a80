import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, Tensor } from '@tensorflow/tfjs-core';

/** Kernel name of our identity-with-zero-gradient op; tfjs has no stop-gradient. */
export const StopGradient = 'HoptmStopGradient';

/** Backends we may run on; the kernel is registered for each, delegating to that backend's Identity. */
const BACKENDS = ['cpu', 'wasm', 'webgpu', 'tensorflow', 'webgl'] as const;

export const stopGradientKernelConfigs: KernelConfig[] = BACKENDS.map((backendName) => ({
  kernelName: StopGradient,
  backendName,
  kernelFunc: (args) => {
    const identity = tf.getKernel(tf.Identity, backendName);
    if (identity === undefined)
      throw new Error(`stopGradient: backend '${backendName}' has no Identity kernel`);
    return identity.kernelFunc(args);
  },
}));

export const stopGradientGradConfig: GradConfig = {
  kernelName: StopGradient,
  inputsToSave: ['x'],
  gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved as [Tensor];
    return { x: () => tf.zerosLike(x) };
  },
};

for (const config of stopGradientKernelConfigs) {
  if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
}

/** The value of x, treated as a constant by every gradient (used for numerically stable shifts). */
export function stopGradient<T extends Tensor>(x: T): T {
  return tf.engine().runKernel(StopGradient, { x }) as T;
}
