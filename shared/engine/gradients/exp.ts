import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, Tensor } from '@tensorflow/tfjs-core';

/**
 * The stock Exp gradient reuses the saved OUTPUT, which the engine stores as a detached clone: the
 * second derivative then silently misses d exp(x)/dx (tfjs issue #3252). Saving the input and recomputing
 * exp(x) keeps the link.
 */
export const expGradConfig: GradConfig = {
  kernelName: tf.Exp,
  inputsToSave: ['x'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [x] = saved as [Tensor];
    return { x: () => tf.mul(dy as Tensor, tf.exp(x)) };
  },
};
