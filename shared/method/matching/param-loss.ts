import { tf } from '../../engine/tf.ts';
import type { Scalar, Tensor1D } from '../../engine/tf.ts';

/**
 * The masked normalised parameter-matching loss (method.md A.4 step 6):
 * sum(v * (student - target)^2) / sum(v * (start - target)^2). The mask is a constant.
 *
 * Deliberate deviation: the reference divides 0/0 = NaN when the mask is empty; here an empty mask (or a
 * zero denominator) gives a loss of exactly 0 with zero gradient, and `maskEmpty` reports it.
 */
export function paramMatchingLoss(
  student: Tensor1D,
  start: Tensor1D,
  target: Tensor1D,
  mask: Tensor1D,
): Scalar {
  return tf.tidy(() => {
    const denominator = tf.sum(tf.mul(mask, tf.squaredDifference(start, target)));
    const numerator = tf.sum(tf.mul(mask, tf.squaredDifference(student, target)));
    const safe = tf.where(tf.greater(denominator, 0), denominator, tf.onesLike(denominator));
    return tf.mul(tf.div(numerator, safe), tf.cast(tf.greater(denominator, 0), 'float32')) as Scalar;
  });
}

/** Element-wise squared error (student - target)^2: what the easy-to-complex mask is thresholded on. */
export function squaredError(student: Tensor1D, target: Tensor1D): Tensor1D {
  return tf.squaredDifference(student, target);
}
