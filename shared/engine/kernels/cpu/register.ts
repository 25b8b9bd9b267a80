import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { unsortedSegmentSumCpuConfig } from './unsorted-segment-sum.ts';

/** Kernels that replace slow stock cpu kernels. */
export const CPU_KERNELS: readonly KernelConfig[] = [unsortedSegmentSumCpuConfig];

/** Replaces the stock kernels (unregistering first: the registry only warns on duplicates). Idempotent. */
export function registerCpuKernels(): void {
  for (const config of CPU_KERNELS) {
    if (tf.getKernel(config.kernelName, config.backendName) === config) continue;
    if (tf.getKernel(config.kernelName, config.backendName) !== undefined)
      tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
}
