import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';
import { stopGradient } from './stop-gradient.ts';

/**
 * Mean softmax cross-entropy with integer labels, built from primitives: tfjs's softmax/logSoftmax/losses use
 * `customGrad` or save their outputs, which silently breaks second derivatives (platform.md section 1).
 * The max-shift carries no gradient, so it changes the value's numerics but not the derivatives.
 */
export function crossEntropy(logits: Tensor2D, labels: Tensor1D): Scalar {
  return tf.tidy(() => {
    const [n, k] = logits.shape;
    if (labels.shape[0] !== n) {
      throw new Error(
        `crossEntropy: expected ${n} labels for logits of shape [${logits.shape}], got ${labels.shape[0]}`,
      );
    }
    const shifted = tf.sub(logits, stopGradient(tf.max(logits, 1, true)));
    const logSumExp = tf.log(tf.sum(tf.exp(shifted), 1));
    const picked = tf.sum(tf.mul(tf.oneHot(tf.cast(labels, 'int32'), k), shifted), 1);
    return tf.mean(tf.sub(logSumExp, picked)) as Scalar;
  });
}
