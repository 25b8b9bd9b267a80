/**
 * Small, deterministic inputs for the distillation tests: a toy labelled image set, in-memory expert
 * sources (fake trajectories, or real ones trained here with plain SGD) and parsed distill configs.
 */
import { tf } from '../../shared/engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../shared/engine/tf.ts';
import { convNetForward } from '../../shared/engine/convnet/forward.ts';
import { convNetLayout, type ConvNetConfig } from '../../shared/engine/convnet/layout.ts';
import { initConvNetParams } from '../../shared/engine/convnet/init.ts';
import { crossEntropy } from '../../shared/engine/ops/cross-entropy.ts';
import { createRng, deriveSeed } from '../../shared/engine/random.ts';
import { distillSchema, type DistillConfig } from '../../shared/config/distill.ts';
import type { ImageSet } from '../../shared/data/types.ts';
import { epochBatches } from '../../shared/method/batches.ts';
import type { ExpertSource } from '../../shared/method/distill/iteration.ts';

/** ConvNet width 4, depth 2 on 8x8 grey images, 3 classes: P = 4*9+12 + 4*4*9+12 + 3*4*2*2+3 = 255. */
export const TINY: ConvNetConfig = { channels: 1, width: 4, depth: 2, imageSize: 8, numClasses: 3 };
export const TINY_RGB: ConvNetConfig = { ...TINY, channels: 3 };

/** Any distill config input: the schema fills the defaults, as a run config would. */
export type DistillInput = Parameters<typeof distillSchema.parse>[0];

/** A tiny-run distill config (4 synthetic steps, 2 images per class, every inner step sees all of them). */
export function tinyDistill(overrides: Partial<DistillConfig> = {}): DistillConfig {
  return distillSchema.parse({
    ipc: 2,
    synSteps: 3,
    expertEpochs: 2,
    minStartEpoch: 0,
    maxStartEpoch: 3,
    lrImg: 10,
    lrLr: 1e-5,
    lrTeacher: 0.01,
    batchSyn: 4,
    iterations: 5,
    evalEvery: 0,
    checkpointEvery: 2,
    seed: 7,
    ...overrides,
  });
}

/**
 * A labelled toy set: class c has a bright horizontal band at rows [2c, 2c+2) (modulo the image), plus
 * uniform noise, so a small ConvNet learns it in a few epochs. Labels cycle 0,1,2,0,... (not sorted, so a
 * class-major initialisation has to look them up).
 */
export function toyImageSet(cfg: ConvNetConfig, perClass: number, seed = 1): ImageSet {
  const rng = createRng(seed);
  const { imageSize: s, channels, numClasses } = cfg;
  const n = perClass * numClasses;
  const pixels = s * s * channels;
  const images = new Float32Array(n * pixels);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % numClasses;
    labels[i] = c;
    for (let y = 0; y < s; y++) {
      const band = Math.floor(y / 2) % numClasses === c ? 1.5 : -0.5;
      for (let x = 0; x < s; x++) {
        for (let ch = 0; ch < channels; ch++)
          images[i * pixels + (y * s + x) * channels + ch] = band + 0.6 * (rng.next() - 0.5);
      }
    }
  }
  return { images, labels, n, height: s, width: s, channels };
}

export interface RecordingExperts extends ExpertSource {
  ids: number[];
  /** Every `points` call, in order. */
  requests: { expert: number; epochs: number[] }[];
}

/** An in-memory source over whole trajectories (trajectories[k][e] = expert ids[k] after epoch e). */
export function arrayExperts(ids: number[], trajectories: Float32Array[][]): RecordingExperts {
  const requests: { expert: number; epochs: number[] }[] = [];
  return {
    ids,
    requests,
    async points(expert, epochs) {
      requests.push({ expert, epochs: [...epochs] });
      const k = ids.indexOf(expert);
      if (k < 0) throw new Error(`test experts: unknown expert ${expert} (have ${ids.join(', ')})`);
      return epochs.map((e) => {
        const point = trajectories[k]![e];
        if (point === undefined)
          throw new Error(
            `test experts: expert ${expert} has no epoch ${e} (0..${trajectories[k]!.length - 1})`,
          );
        return point.slice();
      });
    },
  };
}

/**
 * Fake trajectories: epoch 0 is a PyTorch-style init, epoch e adds e small deterministic steps
 * (0.01 * sin(...) per coordinate, different per expert), so consecutive epochs differ and never coincide.
 */
export function fakeExperts(cfg: ConvNetConfig, ids: number[], epochs: number, seed = 3): RecordingExperts {
  const trajectories = ids.map((id) => {
    const start = initConvNetParams(cfg, createRng(deriveSeed(seed, 'expert', id)));
    return Array.from({ length: epochs + 1 }, (_, e) =>
      start.map((v, i) => v + e * 0.01 * Math.sin(1.3 * i + 0.7 * id + 0.4 * e)),
    );
  });
  return arrayExperts(ids, trajectories);
}

/**
 * Real expert trajectories: plain minibatch SGD (no augmentation) on `train` from a PyTorch-style init,
 * one flat snapshot after each epoch (epoch 0 = the init).
 */
export function trainedExperts(
  cfg: ConvNetConfig,
  train: ImageSet,
  ids: number[],
  opts: { epochs: number; lr: number; batch: number; seed?: number },
): RecordingExperts {
  const images = tf.tensor4d(train.images, [train.n, train.height, train.width, train.channels]) as Tensor4D;
  const labels = tf.tensor1d(train.labels, 'int32');
  const trajectories = ids.map((id) => {
    const rng = createRng(deriveSeed(opts.seed ?? 5, 'expert', id));
    let theta = tf.tensor1d(initConvNetParams(cfg, rng));
    const snapshots = [theta.dataSync().slice() as Float32Array];
    for (let e = 1; e <= opts.epochs; e++) {
      for (const batch of epochBatches(train.n, opts.batch, rng)) {
        const next = tf.tidy(() => {
          const idx = tf.tensor1d(batch, 'int32');
          const x = tf.gather(images, idx) as Tensor4D;
          const y = tf.gather(labels, idx) as Tensor1D;
          const g = tf.grad((t) => crossEntropy(convNetForward(t as Tensor1D, x, cfg), y))(theta);
          return tf.sub(theta, tf.mul(g, opts.lr)) as Tensor1D;
        });
        theta.dispose();
        theta = next;
      }
      snapshots.push(theta.dataSync().slice() as Float32Array);
    }
    theta.dispose();
    return snapshots;
  });
  tf.dispose([images, labels]);
  return arrayExperts(ids, trajectories);
}

export const paramCount = (cfg: ConvNetConfig): number => convNetLayout(cfg).size;
