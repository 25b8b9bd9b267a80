import { tf } from '../tf.ts';
import type { Tensor4D } from '../tf.ts';
import { sampleTaps } from '../ops/sample-taps.ts';
import { cutoutSize, validateAugDraw, type AugDraw } from './draws.ts';
import { cropTaps, cutoutMask, flipTaps, rotateTaps, scaleTaps } from './taps.ts';

/** Per-sample scalars as a [n, 1, 1, 1] tensor, broadcasting over H, W, C. */
const perSample = (values: number[]): tf.Tensor => tf.tensor4d(values, [values.length, 1, 1, 1]);

/**
 * Differentiable Siamese-free DSA (method.md section D) for NHWC images with the given draws. Every family
 * is affine in the images, so the engine's second-order path through it is exact.
 */
export function applyAugDraw(images: Tensor4D, draw: AugDraw): Tensor4D {
  const [n, h, w] = images.shape;
  validateAugDraw(draw, n);
  return tf.tidy(() => {
    switch (draw.family) {
      case 'none':
        return tf.clone(images);
      case 'color': {
        let x: tf.Tensor = tf.add(images, tf.sub(perSample(draw.brightness), 0.5));
        const pixelMean = tf.mean(x, 3, true);
        x = tf.add(tf.mul(tf.sub(x, pixelMean), tf.mul(perSample(draw.saturation), 2)), pixelMean);
        const imageMean = tf.mean(x, [1, 2, 3], true);
        x = tf.add(tf.mul(tf.sub(x, imageMean), tf.add(perSample(draw.contrast), 0.5)), imageMean);
        return x as Tensor4D;
      }
      case 'crop':
        return sampleTaps(images, cropTaps(n, h, w, draw.tx, draw.ty));
      case 'cutout': {
        const mask = cutoutMask(n, h, w, [cutoutSize(h), cutoutSize(w)], draw.ox, draw.oy);
        return tf.mul(images, tf.tensor4d(mask, [n, h, w, 1])) as Tensor4D;
      }
      case 'flip':
        return sampleTaps(images, flipTaps(n, h, w, draw.flip));
      case 'scale':
        return sampleTaps(images, scaleTaps(n, h, w, draw.sx, draw.sy));
      case 'rotate':
        return sampleTaps(images, rotateTaps(n, h, w, draw.angle));
    }
  });
}
