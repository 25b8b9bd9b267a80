import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';
import { broadcastTo } from '../ops/broadcast.ts';

/**
 * dy of a reduction over `axis` spread back over x's shape: reshape, then one broadcast.
 *
 * tfjs's stock Sum and Mean gradients multiply by `ones(x.shape)`, which is filled on the host and uploaded
 * (about 5 ms for one [10, 32, 32, 128] activation on tfjs-node, ten times the multiply itself) on every
 * backward pass, and twice per layer in the meta-gradient's second order.
 */
function spread(dy: Tensor, x: Tensor, axis: number | number[], scale: number): Tensor {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const g = scale === 1 ? tf.reshape(dy, kept) : tf.mul(tf.reshape(dy, kept), scale);
  return broadcastTo(g, x.shape);
}

export const sumGradConfig: GradConfig = {
  kernelName: tf.Sum,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs?: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    return { x: () => spread(dy as Tensor, x, attrs!.axis as number[], 1) };
  },
};

export const meanGradConfig: GradConfig = {
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs?: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    const axes = tf.util.parseAxisParam(attrs!.axis as number[], x.shape);
    const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
    return { x: () => spread(dy as Tensor, x, axes, 1 / count) };
  },
};

/**
 * Tile's gradient as one reshape and one sum: along each axis dy holds reps copies of x's extent, copy-major,
 * so dy viewed as [r0, d0, r1, d1, ...] sums over the copy factors. Factors of 1 are left out and neighbouring
 * kept factors merged, so a broadcast's gradient stays at x's rank (webgpu reduces at most rank 6). The stock
 * gradient adds one slice per copy: H * W slices when a broadcast above is differentiated again.
 */
export const tileGradConfig: GradConfig = {
  kernelName: tf.Tile,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs?: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    const reps = attrs!.reps as number[];
    return {
      x: () => {
        const dims: number[] = [];
        const copyAxes: number[] = [];
        let kept = 1;
        x.shape.forEach((d, i) => {
          if (reps[i]! > 1) {
            if (kept > 1) dims.push(kept);
            kept = 1;
            copyAxes.push(dims.length);
            dims.push(reps[i]!);
          }
          kept *= d;
        });
        if (kept > 1) dims.push(kept);
        const grad = dy as Tensor;
        return copyAxes.length === 0
          ? tf.reshape(grad, x.shape)
          : tf.reshape(tf.sum(tf.reshape(grad, dims), copyAxes), x.shape);
      },
    };
  },
};
