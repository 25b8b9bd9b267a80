import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { AvgPoolAttrs, CastAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { INSTANCE_NORM_KERNELS, NORM_EPS, compositeInstanceNormKernel } from '../../ops/instance-norm.ts';
import { SAMPLE_TAPS_KERNELS, compositeSampleTapsKernel } from '../../ops/sample-taps.ts';

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
  binding: { TF_ATTR_FLOAT: number; TF_ATTR_INT: number };
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
  HoptmInstanceNormReluPool: ['x', 'gamma', 'beta'],
  HoptmInstanceNormReluPoolGrad: ['x', 'gamma', 'beta', 'dy'],
  HoptmInstanceNormReluPoolGradGrad: ['x', 'gamma', 'beta', 'dy', 'gx', 'ggamma', 'gbeta'],
  HoptmSampleTaps: ['images', 'index', 'weight'],
  HoptmSampleTapsAdjoint: ['dy', 'index', 'weight'],
};
const SINGLE_OUTPUT = new Set([
  'HoptmInstanceNorm',
  'HoptmInstanceNormRelu',
  'HoptmInstanceNormReluPool',
  ...SAMPLE_TAPS_KERNELS,
]);
const WITHOUT_EPSILON = new Set<string>(SAMPLE_TAPS_KERNELS);

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
        WITHOUT_EPSILON.has(kernelName)
          ? []
          : [{ name: 'epsilon', type: node.binding.TF_ATTR_FLOAT, value: epsilon }],
        order.map((name) => (inputs as Record<string, TensorInfo>)[name]!),
        SINGLE_OUTPUT.has(kernelName) ? 1 : 3,
      );
      return outputs.length === 1 ? outputs[0]! : outputs;
    },
  };
}

/** The ConvNet's pool: 2x2, stride 2, valid (the only one our op implements; any other goes to the stock kernel). */
function isPool2(attrs: object | undefined): boolean {
  const { filterSize, strides, pad, dimRoundingMode } = (attrs ?? {}) as Partial<AvgPoolAttrs>;
  const two = (v: unknown): boolean => v === 2 || (Array.isArray(v) && v[0] === 2 && v[1] === 2);
  return two(filterSize) && two(strides) && pad === 'valid' && dimRoundingMode === undefined;
}

/** tfjs-node's AvgPoolGrad, with the 2x2 stride-2 case on our op (the same maths, ~1.5x faster). */
function nativePoolGradKernel(stock: KernelConfig): KernelConfig {
  return {
    kernelName: tf.AvgPoolGrad,
    backendName: 'tensorflow',
    kernelFunc: (args) => {
      const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
      if (!isPool2(args.attrs) || dy.dtype !== 'float32') return stock.kernelFunc(args);
      const node = args.backend as unknown as NodeBackend;
      return node.executeMultipleOutputs('HoptmAvgPool2Grad', [], [dy, input], 1)[0]!;
    },
  };
}

/** The conv filters' OIHW <-> HWIO permutations (convnet/forward.ts and their gradients). */
const FILTER_PERMS = ['2,3,1,0', '3,2,0,1'];

/** tfjs-node's Transpose, with a conv filter's permutation on our op (and no perm tensor to upload). */
function nativeTransposeKernel(stock: KernelConfig): KernelConfig {
  return {
    kernelName: tf.Transpose,
    backendName: 'tensorflow',
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const perm = (args.attrs as { perm: number[] }).perm;
      if (x.dtype !== 'float32' || x.shape.length !== 4 || !FILTER_PERMS.includes(perm.join(',')))
        return stock.kernelFunc(args);
      const node = args.backend as unknown as NodeBackend;
      const attr = { name: 'perm', type: node.binding.TF_ATTR_INT, value: perm };
      return node.executeMultipleOutputs('HoptmTranspose4', [attr], [x], 1)[0]!;
    },
  };
}

/** The element-wise ops our HoptmBinary runs, by its `op` attribute. */
const BINARY_OPS: Record<string, number> = { [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2 };

/**
 * Above this many elements TensorFlow's split over its intra-op threads pays; below it, on a small VM, the
 * hand-off costs more than the work (a [317961] multiply: ~400 us threaded, ~220 us on the calling thread).
 */
const BINARY_MAX_ELEMENTS = 1 << 20;

/** tfjs-node's Add, Sub and Multiply, with float32 operands of one shape (or b a scalar) on our op. */
function nativeBinaryKernel(stock: KernelConfig): KernelConfig {
  const op = BINARY_OPS[stock.kernelName]!;
  return {
    kernelName: stock.kernelName,
    backendName: 'tensorflow',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      const size = a.shape.reduce((x, y) => x * y, 1);
      const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
      // b of one element broadcasts to a's shape when its rank is no larger (a [1, 1] b would add axes to a [n]).
      const scalarB = size > 1 && b.shape.length <= a.shape.length && b.shape.every((d) => d === 1);
      if (
        a.dtype !== 'float32' ||
        b.dtype !== 'float32' ||
        size > BINARY_MAX_ELEMENTS ||
        !(sameShape || scalarB)
      )
        return stock.kernelFunc(args);
      const node = args.backend as unknown as NodeBackend;
      const attr = { name: 'op', type: node.binding.TF_ATTR_INT, value: op };
      return node.executeMultipleOutputs('HoptmBinary', [attr], [a, b], 1)[0]!;
    },
  };
}

/** tfjs-node's own kernels that ours replace, kept to delegate to and to restore. */
const stockKernels = new Map<string, KernelConfig>();

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
 * it once the package is loaded). `nativeOps`: the op library is loaded, so instance norm (alone, with its
 * ReLU, or with its ReLU and pool) and its two gradients run as single TensorFlow ops, and so do the DSA's
 * resampling and its adjoint, the 2x2 average pool's gradient, the conv filters' transposes and element-wise
 * Add, Sub and Multiply of up to BINARY_MAX_ELEMENTS (on the calling thread); otherwise
 * (or after a call without it) the norm and resampling kernels are composites and the others tfjs-node's own.
 */
export function registerTensorflowKernels(options: { nativeOps: boolean }): void {
  registerCastToSame();
  for (const kernelName of [tf.AvgPoolGrad, tf.Transpose, tf.Add, tf.Sub, tf.Multiply] as const) {
    if (!stockKernels.has(kernelName)) {
      const stock = tf.getKernel(kernelName, 'tensorflow');
      if (stock === undefined) continue; // tfjs-node not loaded
      stockKernels.set(kernelName, stock);
    }
    const stock = stockKernels.get(kernelName)!;
    tf.unregisterKernel(kernelName, 'tensorflow');
    if (!options.nativeOps) tf.registerKernel(stock);
    else if (kernelName === tf.Transpose) tf.registerKernel(nativeTransposeKernel(stock));
    else if (kernelName === tf.AvgPoolGrad) tf.registerKernel(nativePoolGradKernel(stock));
    else tf.registerKernel(nativeBinaryKernel(stock));
  }
  const composites: [readonly string[], (kernelName: string, backendName: string) => KernelConfig][] = [
    [INSTANCE_NORM_KERNELS, compositeInstanceNormKernel],
    [SAMPLE_TAPS_KERNELS, compositeSampleTapsKernel],
  ];
  for (const [kernels, composite] of composites)
    for (const kernelName of kernels) {
      if (tf.getKernel(kernelName, 'tensorflow') !== undefined) tf.unregisterKernel(kernelName, 'tensorflow');
      tf.registerKernel(options.nativeOps ? nativeKernel(kernelName) : composite(kernelName, 'tensorflow'));
    }
}
