import * as tf from '@tensorflow/tfjs-core';
import type {
  Conv2DBackpropFilterAttrs,
  GradConfig,
  NamedAttrMap,
  Tensor,
  Tensor4D,
} from '@tensorflow/tfjs-core';

/**
 * Missing in tfjs 4.22 ("gradient function not found for Conv2DBackpropFilter"), and needed because the
 * meta-gradient differentiates the first gradient of every convolution. dW = f(x, dy) is bilinear, so:
 * d/dx is a transposed convolution of dy with the incoming filter-shaped gradient, d/ddy a convolution of x.
 */
export const conv2DBackpropFilterGradConfig: GradConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, dy] = saved as [Tensor4D, Tensor4D];
    const g = ddw as Tensor4D;
    const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Conv2DBackpropFilterAttrs;
    return {
      x: () => tf.conv2dTranspose(dy, g, x.shape, strides, pad as 'valid' | 'same' | number, dimRoundingMode),
      dy: () => tf.conv2d(x, g, strides, pad, dataFormat, 1, dimRoundingMode),
    };
  },
};
