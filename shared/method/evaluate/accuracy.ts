import { tf } from '../../engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../engine/tf.ts';
import { convNetForward } from '../../engine/convnet/forward.ts';
import { convNetLayout, type ConvNetConfig } from '../../engine/convnet/layout.ts';
import type { ImageSet } from '../../data/types.ts';
import { validateImageSet, validateLabelledTensors, type LabelledTensors } from './labelled.ts';

export interface AccuracyOptions {
  /**
   * Images per forward pass. It only bounds memory: the ConvNet's instance norm is per sample, so the result does
   * not depend on it (the reference's test loader uses 64).
   */
  batchSize?: number;
  signal?: AbortSignal;
}

export const DEFAULT_ACCURACY_BATCH = 256;

const isImageSet = (data: ImageSet | LabelledTensors): data is ImageSet =>
  data.images instanceof Float32Array;

/**
 * Top-1 accuracy (a fraction in [0, 1], like the reference's `acc_test`) of the ConvNet with flat parameters
 * `params` on labelled images, in batches, without augmentation. An ImageSet is uploaded one batch at a time, so a
 * whole test split never sits in tensor memory; ties in the logits go to the lowest class index (argmax).
 */
export async function accuracy(
  params: Float32Array | Tensor1D,
  data: ImageSet | LabelledTensors,
  cfg: ConvNetConfig,
  opts: AccuracyOptions = {},
): Promise<number> {
  const batchSize = opts.batchSize ?? DEFAULT_ACCURACY_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`accuracy: expected a positive integer batch size, got ${batchSize}`);
  const size = convNetLayout(cfg).size;
  const length = params instanceof Float32Array ? params.length : params.rank === 1 ? params.shape[0] : -1;
  if (length !== size) {
    throw new Error(
      `accuracy: expected a flat parameter vector of ${size}, got ${params instanceof Float32Array ? length : `shape [${params.shape}]`}`,
    );
  }
  let labels: ArrayLike<number>;
  let n: number;
  let batchImages: (start: number, end: number) => Tensor4D;
  if (isImageSet(data)) {
    validateImageSet(data, cfg, 'accuracy');
    const pixels = data.height * data.width * data.channels;
    ({ labels, n } = data);
    batchImages = (start, end) =>
      tf.tensor4d(data.images.subarray(start * pixels, end * pixels), [
        end - start,
        data.height,
        data.width,
        data.channels,
      ]);
  } else {
    await validateLabelledTensors(data, cfg, 'accuracy');
    labels = await data.labels.data();
    n = data.images.shape[0];
    batchImages = (start, end) => tf.slice(data.images, [start, 0, 0, 0], [end - start, -1, -1, -1]);
  }

  const theta = params instanceof Float32Array ? tf.tensor1d(params) : params;
  let correct = 0;
  try {
    for (let start = 0; start < n; start += batchSize) {
      opts.signal?.throwIfAborted();
      const end = Math.min(n, start + batchSize);
      const predicted = tf.tidy(() => tf.argMax(convNetForward(theta, batchImages(start, end), cfg), 1));
      const values = await predicted.data();
      predicted.dispose();
      for (let i = 0; i < values.length; i++) if (values[i] === labels[start + i]) correct++;
    }
  } finally {
    if (theta !== params) theta.dispose();
  }
  return correct / n;
}
