import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { CastAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { INSTANCE_NORM_KERNELS, NORM_EPS, compositeInstanceNormKernel } from '../../ops/instance-norm.ts';

/**
 * Replaces tfjs-node's Cast for a cast to the same dtype. Every tensor a gradient saves is a clone whose
 * own gradient is a cast to float32, so a meta-gradient casts float32 to float32 ~130 times per inner step;
 * tfjs-node runs a TensorFlow Cast op for each (~50 us), where Identity only adds a reference (~2 us).
 * Must run after tfjs-node has registered its kernels (it is called from backends/tensorflow.ts).
 */
function registerCastToSame(): void {
  const stock = tf.getKernel(tf.Cast, 'tensorflow');
  const identity = tf.getKernel(tf.Identity, 'tensorflow');
  if (stock === undefined || identity === undefined || stock.kernelFunc === castConfig?.kernelFunc) return;
  const castToSame: KernelConfig['kernelFunc'] = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { dtype } = args.attrs as unknown as CastAttrs;
    return x.dtype === dtype ? identity.kernelFunc(args) : stock.kernelFunc(args);
  };
  castConfig = { kernelName: tf.Cast, backendName: 'tensorflow', kernelFunc: castToSame };
  tf.unregisterKernel(tf.Cast, 'tensorflow');
  tf.registerKernel(castConfig);
}

let castConfig: KernelConfig | undefined;

/** Where scripts/install-tfjs-node.sh builds the op library: beside the node_modules it installed into. */
export function opLibraryPath(packageRoot: string): string {
  return join(packageRoot, 'hoptm-ops', 'hoptm_ops.node');
}

/** The part of tfjs-node's backend the native kernels call. */
interface NodeBackend {
  binding: { TF_ATTR_FLOAT: number };
  executeMultipleOutputs(
    name: string,
    attrs: object[],
    inputs: TensorInfo[],
    numOutputs: number,
  ): TensorInfo[];
}

/** Each op's inputs in the order hoptm-ops.cc declares them. */
const INPUT_ORDER: Record<string, string[]> = {
  HoptmInstanceNorm: ['x', 'gamma', 'beta'],
  HoptmInstanceNormGrad: ['x', 'gamma', 'dy'],
  HoptmInstanceNormGradGrad: ['x', 'gamma', 'dy', 'gx', 'ggamma', 'gbeta'],
  HoptmInstanceNormRelu: ['x', 'gamma', 'beta'],
  HoptmInstanceNormReluGrad: ['x', 'gamma', 'y', 'dy'],
  HoptmInstanceNormReluGradGrad: ['x', 'gamma', 'y', 'dy', 'gx', 'ggamma', 'gbeta'],
};
const SINGLE_OUTPUT = new Set(['HoptmInstanceNorm', 'HoptmInstanceNormRelu']);

function nativeKernel(kernelName: string): KernelConfig {
  const order = INPUT_ORDER[kernelName]!;
  return {
    kernelName,
    backendName: 'tensorflow',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const node = backend as unknown as NodeBackend;
      const epsilon = (attrs?.epsilon as number | undefined) ?? NORM_EPS;
      const outputs = node.executeMultipleOutputs(
        kernelName,
        [{ name: 'epsilon', type: node.binding.TF_ATTR_FLOAT, value: epsilon }],
        order.map((name) => (inputs as Record<string, TensorInfo>)[name]!),
        SINGLE_OUTPUT.has(kernelName) ? 1 : 3,
      );
      return outputs.length === 1 ? outputs[0]! : outputs;
    },
  };
}

/**
 * Loads the project's TensorFlow op library (kernels/tensorflow/hoptm-ops.cc) into the libtensorflow that
 * tfjs-node has loaded. Returns why not if it cannot, so that the caller can say so: the kernels then stay
 * composed from stock ops (correct, slower).
 */
export function loadOpLibrary(packageRoot: string): { loaded: true } | { loaded: false; why: string } {
  const path = opLibraryPath(packageRoot);
  if (!existsSync(path)) return { loaded: false, why: `${path} is not built` };
  try {
    createRequire(import.meta.url)(path);
    return { loaded: true };
  } catch (error) {
    return {
      loaded: false,
      why: `${path} failed to load: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/**
 * Our `tensorflow` kernels. Must run after tfjs-node has registered its own (backends/tensorflow.ts calls
 * it once the package is loaded). `nativeOps`: the op library is loaded, so instance norm and its two
 * gradients run as single TensorFlow ops; otherwise (or after a call without it) they are composites.
 */
export function registerTensorflowKernels(options: { nativeOps: boolean }): void {
  registerCastToSame();
  for (const kernelName of INSTANCE_NORM_KERNELS) {
    if (tf.getKernel(kernelName, 'tensorflow') !== undefined) tf.unregisterKernel(kernelName, 'tensorflow');
    tf.registerKernel(
      options.nativeOps ? nativeKernel(kernelName) : compositeInstanceNormKernel(kernelName, 'tensorflow'),
    );
  }
}
