import { tf } from '../../tf.ts';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { captureStockConv2DBackpropInput, conv2DBackpropInputConfig } from './conv2d-backprop-input.ts';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.ts';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.ts';

/**
 * Every kernel this project registers for the wasm backend. tfjs-backend-wasm 4.22 lacks the first two
 * (checked with `tf.getKernel(name, 'wasm')`; docs/backends.md lists what was checked); the third replaces
 * its Conv2DBackpropInput, ~10x too slow, and hands the cases it does not cover back to it.
 */
export const WASM_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  unsortedSegmentSumConfig,
  conv2DBackpropInputConfig,
];

/**
 * Registers our wasm kernels, after `@tensorflow/tfjs-backend-wasm` has registered its own and before the
 * backend is initialised (the stock kernels' setup runs then). Should a later tfjs version ship one of them,
 * ours (the tested one) replaces it: the registry itself would only warn on a duplicate. Idempotent; called
 * by `backends/wasm.ts` `start()`, which then asserts that they are in force.
 */
export function registerWasmKernels(): void {
  captureStockConv2DBackpropInput();
  for (const config of WASM_KERNELS) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current !== undefined) tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
}

/** Throws, naming them, when some of our wasm kernels are not the ones registered. */
export function assertWasmKernelsInForce(): void {
  const missing = WASM_KERNELS.filter(
    (c) => tf.getKernel(c.kernelName, c.backendName)?.kernelFunc !== c.kernelFunc,
  );
  if (missing.length > 0) {
    throw new Error(
      `wasm kernels not in force: ${missing.map((c) => c.kernelName).join(', ')} (registerWasmKernels not run?)`,
    );
  }
}
