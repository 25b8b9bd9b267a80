import * as tf from '@tensorflow/tfjs-core';
import type { GradSaveFunc, Tensor, Tensor1D, Tensor4D } from '@tensorflow/tfjs-core';

/** PyTorch's GroupNorm/InstanceNorm default. */
export const NORM_EPS = 1e-5;

/** Per (sample, channel) centred values and 1/sqrt(var + eps), statistics over H and W. */
function statistics(x: Tensor4D): { centred: Tensor4D; rstd: Tensor4D } {
  const m = x.shape[1] * x.shape[2];
  const mean = tf.mul(tf.sum(x, [1, 2], true), 1 / m);
  const centred = tf.sub(x, mean) as Tensor4D;
  const variance = tf.mul(tf.sum(tf.square(centred), [1, 2], true), 1 / m);
  return { centred, rstd: tf.rsqrt(tf.add(variance, NORM_EPS)) as Tensor4D };
}

/**
 * Instance norm (GroupNorm with one group per channel, NHWC): y = (x - mean) / sqrt(var + eps) * gamma + beta.
 *
 * Why not the composite of stock ops: its gradient, and the gradient of that gradient (the meta-gradient
 * differentiates the student's gradient), is assembled by tfjs from generic pieces (each mean's gradient
 * materialises a ones tensor, each broadcast a reduction) and was about 40 % of a meta-gradient's time on
 * the activations. This op's gradient is the closed form, written in ops so that it is itself
 * differentiable; it recomputes the statistics from the saved input rather than reusing forward values,
 * because tfjs records values saved from inside a custom op as constants, which would silently drop
 * second-order terms (the same trap as tfjs issue #3252, see gradients/exp.ts).
 *
 * With s = gamma * rstd, c = x - mean, m = H * W, and sums over H, W:
 *   dx = s * (dy - sum(dy) / m) - c * s * rstd^2 * sum(dy * c) / m
 *   dgamma = sum over n of rstd * sum(dy * c),  dbeta = sum over n, h, w of dy.
 */
const instanceNormOp = tf.customGrad((...args: (Tensor | GradSaveFunc)[]) => {
  const [x, gamma, beta, save] = args as [Tensor4D, Tensor1D, Tensor1D, GradSaveFunc];
  save([x, gamma]);
  const { centred, rstd } = statistics(x);
  return {
    value: tf.add(tf.mul(centred, tf.mul(rstd, gamma)), beta) as Tensor4D,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [xs, g] = saved as [Tensor4D, Tensor1D];
      const grad = dy as Tensor4D;
      const m = xs.shape[1] * xs.shape[2];
      const { centred: c, rstd: r } = statistics(xs);
      const scale = tf.mul(r, g);
      const sumDy = tf.sum(grad, [1, 2], true);
      const sumDyC = tf.sum(tf.mul(grad, c), [1, 2], true);
      const k = tf.mul(tf.mul(scale, tf.square(r)), tf.mul(sumDyC, -1 / m));
      const dx = tf.add(tf.mul(c, k), tf.mul(tf.sub(grad, tf.mul(sumDy, 1 / m)), scale));
      return [dx, tf.sum(tf.mul(sumDyC, r), [0, 1, 2]), tf.sum(sumDy, [0, 1, 2])];
    },
  };
});

export function instanceNorm(x: Tensor4D, gamma: Tensor, beta: Tensor): Tensor4D {
  if (x.rank !== 4) throw new Error(`instanceNorm: expected NHWC activations, got [${x.shape}]`);
  return instanceNormOp(x, gamma, beta);
}
