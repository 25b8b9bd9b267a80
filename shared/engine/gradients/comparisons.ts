import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';

/**
 * Comparisons and logical ops are piecewise constant, so their gradient is zero. tfjs registers none, and Max's gradient
 * (and others) use them, which breaks nested gradients with "gradient function not found".
 */
const zeroGradient = (kernelName: string): GradConfig => ({
  kernelName,
  inputsToSave: ['a', 'b'],
  gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [a, b] = saved as [Tensor, Tensor];
    return { a: () => tf.fill(a.shape, 0, 'float32'), b: () => tf.fill(b.shape, 0, 'float32') };
  },
});

export const comparisonGradConfigs: GradConfig[] = [
  tf.Equal,
  tf.NotEqual,
  tf.Greater,
  tf.GreaterEqual,
  tf.Less,
  tf.LessEqual,
  tf.LogicalAnd,
  tf.LogicalOr,
].map(zeroGradient);

/** Select's gradient uses logicalNot on its condition; the condition is boolean, so its gradient is zero. */
export const logicalNotGradConfig: GradConfig = {
  kernelName: tf.LogicalNot,
  inputsToSave: ['x'],
  gradFunc: (_dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved as [Tensor];
    return { x: () => tf.fill(x.shape, 0, 'float32') };
  },
};
