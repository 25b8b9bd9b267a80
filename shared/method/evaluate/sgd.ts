import { tf } from '../../engine/tf.ts';
import type { Tensor1D } from '../../engine/tf.ts';

/** torch.optim.SGD hyperparameters (dampening 0, nesterov off, as in the reference). */
export interface SgdSettings {
  lr: number;
  momentum: number;
  weightDecay: number;
}

export interface SgdState {
  params: Tensor1D;
  /** The momentum buffer; null before the first step after (re-)creating the optimizer, and when momentum is 0. */
  buffer: Tensor1D | null;
}

/**
 * One torch.optim.SGD step on a flat parameter vector, with PyTorch's semantics:
 *
 *     d = g + weightDecay * w                  (weight decay is added to the gradient)
 *     buf = d                 on the first step (the buffer starts as a copy, not as zeros)
 *     buf = momentum * buf + d                 afterwards
 *     w = w - lr * buf                         (w - lr * d when momentum is 0; no buffer is kept)
 *
 * Returns new tensors; the caller owns them and still owns the inputs.
 */
export function sgdStep(state: SgdState, grad: Tensor1D, s: SgdSettings): SgdState {
  const { params, buffer } = state;
  const direction = (): Tensor1D =>
    s.weightDecay !== 0 ? (tf.add(grad, tf.mul(params, s.weightDecay)) as Tensor1D) : grad;
  if (s.momentum === 0) {
    return { params: tf.tidy(() => tf.sub(params, tf.mul(direction(), s.lr)) as Tensor1D), buffer: null };
  }
  const nextBuffer = tf.tidy(() => {
    const d = direction();
    return (buffer === null ? tf.clone(d) : tf.add(tf.mul(buffer, s.momentum), d)) as Tensor1D;
  });
  return { params: tf.tidy(() => tf.sub(params, tf.mul(nextBuffer, s.lr)) as Tensor1D), buffer: nextBuffer };
}
