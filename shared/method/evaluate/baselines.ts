import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import { createRng, deriveSeed, permutation, type Rng } from '../../engine/random.ts';
import type { EvaluateConfig } from '../../config/evaluate.ts';
import type { ImageSet } from '../../data/types.ts';
import { imageSetTensors, validateImageSet } from './labelled.ts';
import {
  evaluateWith,
  type EvaluationData,
  type EvaluationHooks,
  type EvaluationResult,
  type LrSource,
} from './protocol.ts';

/**
 * The lr of the real-data baselines when none is given. Real images have no learned lr; the expert lr
 * (lr_teacher, 0.01; method.md G.3) is the natural choice and is what the result records unless overridden.
 */
export const REAL_BASELINE_LR = 0.01;

export interface RealBaselineOptions {
  /** Training lr; defaults to REAL_BASELINE_LR (the expert lr), and the result says which was used. */
  lr?: number;
  hooks?: EvaluationHooks;
}

/**
 * `ipc` real images per class, drawn without replacement (a random permutation of each class's indices, first
 * `ipc` taken, like the reference's real init), in class-major order: labels [0]*ipc, [1]*ipc, ...
 * `numClasses` defaults to the largest label + 1; pass it so that a class with no images at all is reported.
 */
export function randomRealSubset(train: ImageSet, ipc: number, rng: Rng, numClasses?: number): ImageSet {
  if (!Number.isInteger(ipc) || ipc < 1)
    throw new Error(`randomRealSubset: expected a positive integer ipc, got ${ipc}`);
  if (train.labels.length !== train.n) {
    throw new Error(
      `randomRealSubset: expected ${train.n} labels (one per image), got ${train.labels.length}`,
    );
  }
  const pixels = train.height * train.width * train.channels;
  if (train.images.length !== train.n * pixels) {
    throw new Error(
      `randomRealSubset: expected ${train.n * pixels} pixel values for n = ${train.n}, got ${train.images.length}`,
    );
  }
  const k = numClasses ?? train.labels.reduce((m, v) => Math.max(m, v + 1), 0);
  const byClass: number[][] = Array.from({ length: k }, () => []);
  train.labels.forEach((label, i) => {
    if (label < 0 || label >= k)
      throw new Error(`randomRealSubset: expected labels in [0, ${k}), got ${label} at index ${i}`);
    byClass[label]!.push(i);
  });
  const short = byClass
    .map((indices, c) => ({ c, count: indices.length }))
    .filter(({ count }) => count < ipc);
  if (short.length > 0) {
    const list = short.map(({ c, count }) => `class ${c} has ${count}`).join(', ');
    throw new Error(`randomRealSubset: expected at least ipc = ${ipc} images in every class, but ${list}`);
  }

  const n = k * ipc;
  const images = new Float32Array(n * pixels);
  const labels = new Int32Array(n);
  let out = 0;
  byClass.forEach((indices, c) => {
    for (const j of permutation(indices.length, rng).slice(0, ipc)) {
      const src = indices[j]!;
      images.set(train.images.subarray(src * pixels, (src + 1) * pixels), out * pixels);
      labels[out++] = c;
    }
  });
  return { images, labels, n, height: train.height, width: train.width, channels: train.channels };
}

const realLr = (lr: number | undefined): { lr: number; lrSource: LrSource } =>
  lr === undefined
    ? { lr: REAL_BASELINE_LR, lrSource: 'expert lr (default)' }
    : { lr, lrSource: 'configured' };

/**
 * Baseline: `ipc` random real images per class, evaluated in the same harness as a synthetic set. Each run
 * draws its own subset (from the run seed), so the spread includes the choice of images.
 */
export async function evaluateRealSubset(
  train: ImageSet,
  ipc: number,
  data: EvaluationData,
  cfg: ConvNetConfig,
  evalCfg: EvaluateConfig,
  opts: RealBaselineOptions = {},
): Promise<EvaluationResult> {
  validateImageSet(train, cfg, 'evaluateRealSubset (train split)');
  // Fail before any training when a class is short.
  randomRealSubset(train, ipc, createRng(0), cfg.numClasses);
  return evaluateWith(
    {
      training: { kind: 'real-subset', images: ipc * cfg.numClasses, ipc },
      ...realLr(opts.lr),
      trainingSet: (_run, seed) => ({
        data: imageSetTensors(
          randomRealSubset(train, ipc, createRng(deriveSeed(seed, 'real-subset')), cfg.numClasses),
        ),
        owned: true,
      }),
    },
    data,
    cfg,
    evalCfg,
    opts.hooks,
  );
}

/**
 * Baseline: the whole real training split, same harness and schedule. The images are uploaded once per run and
 * held as one tensor (PathMNIST train: 89 996 x 32 x 32 x 3 float32, about 1.1 GB). With the reference's 1000
 * epochs this is very long; lower `evalCfg.epochs` for a practical upper bound, and the record says what ran.
 */
export async function evaluateFullReal(
  train: ImageSet,
  data: EvaluationData,
  cfg: ConvNetConfig,
  evalCfg: EvaluateConfig,
  opts: RealBaselineOptions = {},
): Promise<EvaluationResult> {
  validateImageSet(train, cfg, 'evaluateFullReal (train split)');
  return evaluateWith(
    {
      training: { kind: 'full-real', images: train.n },
      ...realLr(opts.lr),
      trainingSet: () => ({ data: imageSetTensors(train), owned: true }),
    },
    data,
    cfg,
    evalCfg,
    opts.hooks,
  );
}
