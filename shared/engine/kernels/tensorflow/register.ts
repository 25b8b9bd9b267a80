import * as tf from '@tensorflow/tfjs-core';
import type { CastAttrs, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Replaces tfjs-node's Cast for a cast to the same dtype. Every tensor a gradient saves is a clone whose
 * own gradient is a cast to float32, so a meta-gradient casts float32 to float32 ~130 times per inner step;
 * tfjs-node runs a TensorFlow Cast op for each (~50 us), where Identity only adds a reference (~2 us).
 * Must run after tfjs-node has registered its kernels (it is called from backends/tensorflow.ts).
 */
export function registerTensorflowKernels(): void {
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
