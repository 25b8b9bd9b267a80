/**
 * The one import point for TensorFlow.js in this project.
 *
 * `@tensorflow/tfjs` (the CommonJS union bundle) is imported for its side effects: it registers every
 * stock gradient and the chained-op prototype methods into the shared `@tensorflow/tfjs-core` engine
 * (tfjs-core's own ESM entry cannot be loaded by Node directly; platform.md section 1). Our gradient
 * fixes are registered right after, so no caller can ever see the stock (wrong) second-order gradients.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerEngineGradients } from './gradients/register.ts';
import { registerCpuKernels } from './kernels/cpu/register.ts';

registerEngineGradients();
registerCpuKernels();

export { tf };
export type { Tensor, Tensor1D, Tensor2D, Tensor4D, Scalar, Rank } from '@tensorflow/tfjs-core';
