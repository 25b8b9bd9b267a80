import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig } from '@tensorflow/tfjs-core';
import { avgPoolGradGradConfig } from './avg-pool-grad.ts';
import { comparisonGradConfigs, logicalNotGradConfig } from './comparisons.ts';
import { conv2DBackpropFilterGradConfig } from './conv2d-backprop-filter.ts';
import { expGradConfig } from './exp.ts';
import { meanGradConfig, sumGradConfig, tileGradConfig } from './reductions.ts';
import { registerReluGradKernels, reluGradConfig, reluGradGradConfig } from './relu.ts';
import { stopGradientGradConfig } from '../ops/stop-gradient.ts';
import { broadcastToGradConfig, registerBroadcastToKernels } from '../ops/broadcast.ts';
import {
  instanceNormGradConfigs,
  instanceNormThirdOrderConfigs,
  registerInstanceNormKernels,
} from '../ops/instance-norm.ts';
import { registerSampleTapsKernels, sampleTapsGradConfigs } from '../ops/sample-taps.ts';

/** Every gradient this project adds or replaces; a test asserts each one is the one in force. */
export const ENGINE_GRADIENTS: readonly GradConfig[] = [
  conv2DBackpropFilterGradConfig,
  avgPoolGradGradConfig,
  expGradConfig,
  reluGradConfig,
  reluGradGradConfig,
  sumGradConfig,
  meanGradConfig,
  tileGradConfig,
  broadcastToGradConfig,
  ...instanceNormGradConfigs,
  ...instanceNormThirdOrderConfigs,
  ...sampleTapsGradConfigs,
  stopGradientGradConfig,
  logicalNotGradConfig,
  ...comparisonGradConfigs,
];

/**
 * Registers our gradients into tfjs's global registry. Called once by `shared/engine/tf.ts`, after the
 * stock gradients are registered (a later registration replaces an earlier one silently), so importing the
 * engine is enough to be safe. Idempotent.
 */
export function registerEngineGradients(): void {
  registerReluGradKernels();
  registerBroadcastToKernels();
  registerInstanceNormKernels();
  registerSampleTapsKernels();
  for (const config of ENGINE_GRADIENTS) {
    if (tf.getGradient(config.kernelName) !== config) tf.registerGradient(config);
  }
}
