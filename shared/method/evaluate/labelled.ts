import { tf } from '../../engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../engine/tf.ts';
import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import type { ImageSet } from '../../data/types.ts';

/** Images (NHWC float32) with one integer class label each, as tensors. */
export interface LabelledTensors {
  images: Tensor4D;
  labels: Tensor1D;
}

/** The first offending label, or -1: labels must be integers in [0, numClasses). */
function badLabelIndex(labels: ArrayLike<number>, numClasses: number): number {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) return i;
  }
  return -1;
}

function checkLabels(labels: ArrayLike<number>, numClasses: number, where: string): void {
  const bad = badLabelIndex(labels, numClasses);
  if (bad >= 0)
    throw new Error(`${where}: expected labels in [0, ${numClasses}), got ${labels[bad]} at index ${bad}`);
}

/** Shapes, label range and finiteness of labelled tensors for a model; errors name what was expected and got. */
export async function validateLabelledTensors(
  data: LabelledTensors,
  cfg: ConvNetConfig,
  where: string,
): Promise<void> {
  const { images, labels } = data;
  const [n, h, w, c] = images.shape;
  if (images.rank !== 4 || h !== cfg.imageSize || w !== cfg.imageSize || c !== cfg.channels) {
    throw new Error(
      `${where}: expected images [n, ${cfg.imageSize}, ${cfg.imageSize}, ${cfg.channels}] (NHWC), got [${images.shape}]`,
    );
  }
  if (n === 0) throw new Error(`${where}: expected at least one image, got 0`);
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new Error(`${where}: expected ${n} labels (one per image), got shape [${labels.shape}]`);
  }
  checkLabels(await labels.data(), cfg.numClasses, where);
  // x * 0 is NaN exactly when x is NaN or infinite: one scalar read instead of a full copy.
  const check = tf.tidy(() => tf.sum(tf.mul(images, 0)));
  const v = (await check.data())[0]!;
  check.dispose();
  if (Number.isNaN(v)) throw new Error(`${where}: images contain NaN or Inf values`);
}

/** An ImageSet's buffer sizes, its image shape against the model and its labels. */
export function validateImageSet(set: ImageSet, cfg: ConvNetConfig, where: string): void {
  const { n, height, width, channels } = set;
  if (height !== cfg.imageSize || width !== cfg.imageSize || channels !== cfg.channels) {
    throw new Error(
      `${where}: expected images of ${cfg.imageSize}x${cfg.imageSize}x${cfg.channels} (HWC), got ${height}x${width}x${channels}`,
    );
  }
  if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: expected at least one image, got n = ${n}`);
  if (set.images.length !== n * height * width * channels) {
    throw new Error(
      `${where}: expected ${n * height * width * channels} pixel values for n = ${n}, got ${set.images.length}`,
    );
  }
  if (set.labels.length !== n)
    throw new Error(`${where}: expected ${n} labels (one per image), got ${set.labels.length}`);
  checkLabels(set.labels, cfg.numClasses, where);
  const bad = set.images.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new Error(`${where}: images contain a non-finite value (${set.images[bad]} at flat index ${bad})`);
}

/** The ImageSet as NHWC float32 images and int32 labels. The caller owns the tensors. */
export function imageSetTensors(set: ImageSet): LabelledTensors {
  return {
    images: tf.tensor4d(set.images, [set.n, set.height, set.width, set.channels]),
    labels: tf.tensor1d(set.labels, 'int32'),
  };
}
