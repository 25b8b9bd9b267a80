import { describe, expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import { metaGradient } from '../../shared/method/matching/meta-gradient.ts';
import { convNetLayout } from '../../shared/engine/convnet/layout.ts';
import { disposeProblem, smallProblem } from '../helpers/problems.ts';

describe('meta-gradient: bad input fails with a clear error', () => {
  const { problem, terms } = smallProblem({ steps: 2 });

  it('throws when the images are not NHWC of the configured size', async () => {
    const images = tf.zeros([6, 3, 8, 8]) as tf.Tensor4D;
    await expect(metaGradient({ ...problem, images }, terms)).rejects.toThrow(
      'expected images [n, 8, 8, 3] (NHWC), got [6,3,8,8]',
    );
  });

  it('throws when images contain NaN or Inf', async () => {
    const data = problem.images.dataSync().slice();
    data[5] = Number.NaN;
    await expect(
      metaGradient({ ...problem, images: tf.tensor4d(data, problem.images.shape) }, terms),
    ).rejects.toThrow('images contain NaN or Inf');
    data[5] = Number.POSITIVE_INFINITY;
    await expect(
      metaGradient({ ...problem, images: tf.tensor4d(data, problem.images.shape) }, terms),
    ).rejects.toThrow('images contain NaN or Inf');
  });

  it('throws when the lr is NaN or infinite', async () => {
    await expect(metaGradient({ ...problem, lr: Number.NaN }, terms)).rejects.toThrow(
      'expected a finite lr, got NaN',
    );
    await expect(metaGradient({ ...problem, lr: Infinity }, terms)).rejects.toThrow(
      'expected a finite lr, got Infinity',
    );
  });

  it('throws when labels, indices, expert points or the mask do not match', async () => {
    await expect(metaGradient({ ...problem, labels: tf.tensor1d([0, 1], 'int32') }, terms)).rejects.toThrow(
      'expected 6 labels (one per image), got shape [2]',
    );
    await expect(
      metaGradient({ ...problem, labels: tf.tensor1d([0, 1, 2, 3, 0, 1], 'int32') }, terms),
    ).rejects.toThrow('expected labels in [0, 3), got 3 at index 3');
    await expect(
      metaGradient({ ...problem, steps: [{ indices: [0, 9], draw: { family: 'none' } }] }, terms),
    ).rejects.toThrow('step 0 expected non-empty image indices in [0, 6)');
    await expect(
      metaGradient({ ...problem, expert: { ...problem.expert, mid: tf.zeros([3]) as tf.Tensor1D } }, terms),
    ).rejects.toThrow(/expert mid to be a flat vector of \d+ parameters, got \[3\]/);
    await expect(metaGradient(problem, { ...terms, mask: tf.ones([2]) as tf.Tensor1D })).rejects.toThrow(
      /expected a mask of length \d+, got \[2\]/,
    );
    await expect(metaGradient({ ...problem, steps: [] }, terms)).rejects.toThrow(
      'expected at least one unrolled step, got 0',
    );
  });

  it('defines an empty mask as zero parameter loss instead of the reference 0/0 NaN', async () => {
    const r = await metaGradient(problem, { mask: tf.zerosLike(terms.mask), lambda: 0 });
    expect(r.maskEmpty).toBe(true);
    expect(r.paramLoss).toBe(0);
    expect(Array.from(await r.gradImages.data()).every((v) => v === 0)).toBe(true);
  });
});

describe('meta-gradient: memory', () => {
  it('frees everything it allocates except the returned image gradient', async () => {
    const { problem, terms } = smallProblem({ steps: 3, seed: 2 });
    const before = tf.memory().numTensors;
    const r = await metaGradient(problem, terms);
    r.gradImages.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('peak memory grows by one parameter vector per extra unrolled step, nothing more (N=4 vs N=16)', async () => {
    const cfg = { channels: 3, width: 8, depth: 2, imageSize: 8, numClasses: 3 };
    const peak = async (steps: number): Promise<number> => {
      const { problem, terms } = smallProblem({ steps, seed: 3, cfg });
      const info = await tf.profile(async () => {
        (await metaGradient(problem, terms)).gradImages.dispose();
        return [];
      });
      disposeProblem(problem, terms);
      return info.peakBytes;
    };
    const perStep = convNetLayout(cfg).size * 4;
    const growth = (await peak(16)) - (await peak(4));
    // 12 more stored vectors; anything beyond a small constant would mean graphs accumulate across steps.
    expect(growth).toBeGreaterThanOrEqual(12 * perStep);
    expect(growth).toBeLessThanOrEqual(12 * perStep + 2 * perStep);
  });
});
