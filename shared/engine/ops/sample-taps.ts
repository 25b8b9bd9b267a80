import { tf } from '../tf.ts';
import type { Tensor4D } from '../tf.ts';

/**
 * A fixed linear resampling of NHWC images: every output pixel is a weighted sum of `taps` input pixels of
 * the same image. Crop, flip and the bilinear grid samples of scale and rotate are all of this form. It is
 * built from gather (whose gradient is a segment sum, whose gradient is a gather again), so it stays
 * differentiable to any order w.r.t. the images; the weights are constants.
 */
export interface Taps {
  /** Taps per output pixel. */
  taps: number;
  /** [n*H*W*taps] row index into the image flattened to [n*H*W, C]. */
  index: Int32Array;
  /** [n*H*W*taps] weights; a tap outside the image has weight 0 (zero padding). */
  weight: Float32Array;
}

export function sampleTaps(images: Tensor4D, t: Taps): Tensor4D {
  const [n, h, w, c] = images.shape;
  const pixels = n * h * w;
  if (t.index.length !== pixels * t.taps || t.weight.length !== pixels * t.taps) {
    throw new Error(
      `sampleTaps: expected ${pixels * t.taps} taps for images [${images.shape}], got ${t.index.length}`,
    );
  }
  return tf.tidy(() => {
    const rows = tf.reshape(images, [pixels, c]);
    const gathered = tf.reshape(tf.gather(rows, tf.tensor1d(t.index, 'int32')), [pixels, t.taps, c]);
    const weighted = tf.mul(gathered, tf.tensor3d(t.weight, [pixels, t.taps, 1]));
    return tf.reshape(tf.sum(weighted, 1), [n, h, w, c]) as Tensor4D;
  });
}
