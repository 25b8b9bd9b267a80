import * as tf from '@tensorflow/tfjs-core';
import type { AvgPoolGradAttrs, GradConfig, NamedAttrMap, Tensor, Tensor4D } from '@tensorflow/tfjs-core';

/**
 * Missing in tfjs 4.22. AvgPoolGrad is linear in dy and does not depend on the input's values, so its own
 * gradient is an average pool of the incoming gradient for dy, and zero for the input.
 */
export const avgPoolGradGradConfig: GradConfig = {
  kernelName: tf.AvgPoolGrad,
  inputsToSave: ['input'],
  gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [input] = saved as [Tensor4D];
    const { filterSize, strides, pad } = attrs as unknown as AvgPoolGradAttrs;
    return {
      dy: () => tf.avgPool(ddx as Tensor4D, filterSize, strides, pad as 'valid' | 'same' | number),
      input: () => tf.zerosLike(input),
    };
  },
};
