import * as tf from '@tensorflow/tfjs-core';
import type {
  GradConfig,
  KernelBackend,
  KernelConfig,
  Tensor,
  Tensor4D,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import { withKernelScope, type KernelScope } from '../kernels/compose.ts';
import { BACKEND_NAMES } from '../backends/types.ts';

/**
 * A fixed linear resampling of NHWC images: every output pixel is a weighted sum of `taps` input pixels of
 * the same image. Crop, flip and the bilinear grid samples of scale and rotate are all of this form.
 */
export interface Taps {
  /** Taps per output pixel. */
  taps: number;
  /** [n*H*W*taps] row index into the image flattened to [n*H*W, C]. */
  index: Int32Array;
  /** [n*H*W*taps] weights; a tap outside the image has weight 0 (zero padding). */
  weight: Float32Array;
}

/**
 * Two kernels, each the other's adjoint, so the resampling is differentiable to any order w.r.t. the images
 * (the taps are constants):
 *   SampleTaps(images, index, weight):   out[p] = sum over t of weight[p, t] * images[index[p, t]];
 *   SampleTapsAdjoint(dy, index, weight): dx[index[p, t]] += weight[p, t] * dy[p].
 * Every backend composes them from gather, multiply and sum (the adjoint: a segment sum); on `tensorflow`
 * they are single ops of the project's op library, where TensorFlow's GatherV2 copies 3-float rows one
 * memcpy at a time (~3 ms for one [10, 32, 32, 3] rotation, against ~0.1 ms).
 */
export const SampleTaps = 'HoptmSampleTaps';
export const SampleTapsAdjoint = 'HoptmSampleTapsAdjoint';
export const SAMPLE_TAPS_KERNELS = [SampleTaps, SampleTapsAdjoint] as const;

export function sampleTaps(images: Tensor4D, t: Taps): Tensor4D {
  const [n, h, w] = images.shape;
  const pixels = n * h * w;
  if (t.index.length !== pixels * t.taps || t.weight.length !== pixels * t.taps) {
    throw new Error(
      `sampleTaps: expected ${pixels * t.taps} taps for images [${images.shape}], got ${t.index.length}`,
    );
  }
  return tf.tidy(
    () =>
      tf.engine().runKernel(SampleTaps, {
        images,
        index: tf.tensor1d(t.index, 'int32'),
        weight: tf.tensor1d(t.weight, 'float32'),
      }) as Tensor4D,
  );
}

/** Each kernel's gradient w.r.t. its image input is the other kernel; the taps get none (constants). */
const tapsGradConfig = (kernelName: string, adjoint: string, input: 'images' | 'dy'): GradConfig => ({
  kernelName,
  inputsToSave: ['index', 'weight'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [index, weight] = saved as [Tensor, Tensor];
    const other = adjoint === SampleTaps ? 'images' : 'dy';
    return {
      [input]: () => tf.engine().runKernel(adjoint, { [other]: dy as Tensor, index, weight }) as Tensor,
      index: () => tf.zerosLike(index),
      weight: () => tf.zerosLike(weight),
    };
  },
});

export const sampleTapsGradConfigs: GradConfig[] = [
  tapsGradConfig(SampleTaps, SampleTapsAdjoint, 'images'),
  tapsGradConfig(SampleTapsAdjoint, SampleTaps, 'dy'),
];

/** The pixel count P, taps per pixel T and channels C of an image-shaped input and its taps. */
function geometry(x: TensorInfo, index: TensorInfo): { pixels: number; taps: number; c: number } {
  const [n, h, w, c] = x.shape as number[];
  const pixels = n! * h! * w!;
  return { pixels, taps: index.shape[0]! / pixels, c: c! };
}

type Composite = (scope: KernelScope, x: TensorInfo, index: TensorInfo, weight: TensorInfo) => TensorInfo;

const compositeForward: Composite = (scope, images, index, weight) => {
  const { pixels, taps, c } = geometry(images, index);
  const rows = scope.run(tf.Reshape, { x: images }, { shape: [pixels, c] });
  const gathered = scope.run(tf.GatherV2, { x: rows, indices: index }, { axis: 0, batchDims: 0 });
  const weighted = scope.run(tf.Multiply, {
    a: scope.run(tf.Reshape, { x: gathered }, { shape: [pixels, taps, c] }),
    b: scope.run(tf.Reshape, { x: weight }, { shape: [pixels, taps, 1] }),
  });
  const summed = scope.run(tf.Sum, { x: weighted }, { axis: [1], keepDims: false });
  return scope.run(tf.Reshape, { x: summed }, { shape: images.shape });
};

const compositeAdjoint: Composite = (scope, dy, index, weight) => {
  const { pixels, taps, c } = geometry(dy, index);
  const weighted = scope.run(tf.Multiply, {
    a: scope.run(tf.Reshape, { x: dy }, { shape: [pixels, 1, c] }),
    b: scope.run(tf.Reshape, { x: weight }, { shape: [pixels, taps, 1] }),
  });
  const spread = scope.run(
    tf.UnsortedSegmentSum,
    { x: scope.run(tf.Reshape, { x: weighted }, { shape: [pixels * taps, c] }), segmentIds: index },
    { numSegments: pixels },
  );
  return scope.run(tf.Reshape, { x: spread }, { shape: dy.shape });
};

/** Each kernel composed from the backend's own kernels (every backend; tensorflow without the op library). */
export function compositeSampleTapsKernel(kernelName: string, backendName: string): KernelConfig {
  const [composite, input] =
    kernelName === SampleTaps ? [compositeForward, 'images'] : [compositeAdjoint, 'dy'];
  return {
    kernelName,
    backendName,
    kernelFunc: ({ inputs, backend }) =>
      withKernelScope(backend as KernelBackend, backendName, (scope) => {
        const { index, weight } = inputs as Record<string, TensorInfo>;
        return scope.keep(composite(scope, (inputs as Record<string, TensorInfo>)[input]!, index!, weight!));
      }),
  };
}

/** Registers the composite kernels for every backend; idempotent. */
export function registerSampleTapsKernels(): void {
  for (const backendName of BACKEND_NAMES) {
    for (const kernelName of SAMPLE_TAPS_KERNELS) {
      if (tf.getKernel(kernelName, backendName) === undefined) {
        tf.registerKernel(compositeSampleTapsKernel(kernelName, backendName));
      }
    }
  }
}
