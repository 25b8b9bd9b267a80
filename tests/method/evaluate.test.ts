import { describe, expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../shared/engine/tf.ts';
import { convNetForward } from '../../shared/engine/convnet/forward.ts';
import { convNetLayout, type ConvNetConfig } from '../../shared/engine/convnet/layout.ts';
import { initConvNetParams } from '../../shared/engine/convnet/init.ts';
import { crossEntropy } from '../../shared/engine/ops/cross-entropy.ts';
import { applyAugDraw } from '../../shared/engine/dsa/apply.ts';
import { sampleAugDraw } from '../../shared/engine/dsa/draws.ts';
import { createRng } from '../../shared/engine/random.ts';
import { epochBatches } from '../../shared/method/batches.ts';
import { evaluateSchema } from '../../shared/config/evaluate.ts';
import type { ImageSet } from '../../shared/data/types.ts';
import { evalSchedule, lrAt, resetsMomentumAfter } from '../../shared/method/evaluate/schedule.ts';
import { sgdStep } from '../../shared/method/evaluate/sgd.ts';
import {
  trainNetwork,
  trainingRngs,
  type TrainNetworkOptions,
} from '../../shared/method/evaluate/train-network.ts';
import { accuracy } from '../../shared/method/evaluate/accuracy.ts';
import { imageSetTensors, type LabelledTensors } from '../../shared/method/evaluate/labelled.ts';
import { evaluateSynthetic, meanAndStd } from '../../shared/method/evaluate/protocol.ts';
import {
  evaluateFullReal,
  evaluateRealSubset,
  randomRealSubset,
  REAL_BASELINE_LR,
} from '../../shared/method/evaluate/baselines.ts';
import { assertSelectable, selectBest } from '../../shared/method/evaluate/selection.ts';
import { expectClose, maxRelativeError } from '../helpers/compare.ts';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

/** 1 channel, 4x4, one block of width 2, 2 classes: P = 18 + 2 + 2 + 2 + 16 + 2 = 42. */
const TINY: ConvNetConfig = { channels: 1, width: 2, depth: 1, imageSize: 4, numClasses: 2 };
/** 8x8, two blocks: big enough to learn a spatial rule, small enough for a few hundred steps in seconds. */
const SMALL: ConvNetConfig = { channels: 1, width: 4, depth: 2, imageSize: 8, numClasses: 2 };

function randomTensors(cfg: ConvNetConfig, n: number, seed: number): LabelledTensors {
  const rng = createRng(seed);
  const s = cfg.imageSize;
  return {
    images: tf.tensor4d(
      Float32Array.from({ length: n * s * s * cfg.channels }, () => 2 * rng.next() - 1),
      [n, s, s, cfg.channels],
    ),
    labels: tf.tensor1d(
      Array.from({ length: n }, (_, i) => i % cfg.numClasses),
      'int32',
    ),
  };
}

const disposeAll = (t: LabelledTensors): void => {
  t.images.dispose();
  t.labels.dispose();
};

/**
 * Trivially separable: class 0 is bright in the top half, class 1 in the bottom half, plus small noise. DSA's
 * flips, small crops/rotations/scales and colour changes keep the rule; a cutout can hide at most half of it.
 */
function separableSet(n: number, seed: number, size = 8): ImageSet {
  const rng = createRng(seed);
  const images = new Float32Array(n * size * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    labels[i] = label;
    for (let r = 0; r < size; r++) {
      const bright = r < size / 2 === (label === 0);
      for (let c = 0; c < size; c++)
        images[(i * size + r) * size + c] = (bright ? 1 : -1) + 0.2 * (rng.next() - 0.5);
    }
  }
  return { images, labels, n, height: size, width: size, channels: 1 };
}

const evalConfig = (over: Partial<ReturnType<typeof evaluateSchema.parse>> = {}) =>
  evaluateSchema.parse(over);

// ---------------------------------------------------------------------------------------------------------------

describe('evaluation schedule (method.md F: range(Epoch + 1), decay after epoch Epoch // 2 + 1)', () => {
  it('epochs=1000 runs 1001 epochs, lr until epoch 501 inclusive, lr/10 from 502, momentum reset after 501 only', () => {
    expect(evalSchedule(1000)).toEqual({ epochs: 1000, totalEpochs: 1001, decayAfterEpoch: 501 });
    expect([0, 500, 501].map((e) => lrAt(e, 0.01, 1000))).toEqual([0.01, 0.01, 0.01]);
    expect([502, 1000].map((e) => lrAt(e, 0.01, 1000))).toEqual([0.01 * 0.1, 0.01 * 0.1]);
    const resets = Array.from({ length: 1001 }, (_, e) => e).filter((e) => resetsMomentumAfter(e, 1000));
    expect(resets).toEqual([501]);
  });

  it('small epoch counts: epochs=3 decays after epoch 2 (epoch 3 at lr/10); epochs<=2 never decays a step', () => {
    expect([0, 1, 2, 3].map((e) => lrAt(e, 1, 3))).toEqual([1, 1, 1, 0.1]);
    expect(evalSchedule(2)).toEqual({ epochs: 2, totalEpochs: 3, decayAfterEpoch: 2 });
    expect([0, 1, 2].map((e) => lrAt(e, 1, 2))).toEqual([1, 1, 1]);
    expect(evalSchedule(0).totalEpochs).toBe(1);
  });

  it('throws when the epoch index or the epoch count is out of range', () => {
    expect(() => lrAt(4, 1, 3)).toThrow('lrAt: expected an epoch index in [0, 4) for epochs = 3, got 4');
    expect(() => resetsMomentumAfter(-1, 3)).toThrow(
      'resetsMomentumAfter: expected an epoch index in [0, 4)',
    );
    expect(() => evalSchedule(1.5)).toThrow(
      'evalSchedule: expected a non-negative integer number of epochs, got 1.5',
    );
  });
});

describe('sgdStep (torch.optim.SGD semantics)', () => {
  const step = (
    w: number[],
    g: number[],
    buf: number[] | null,
    s: { lr: number; momentum: number; weightDecay: number },
  ) => {
    const params = tf.tensor1d(w);
    const grad = tf.tensor1d(g);
    const buffer = buf === null ? null : tf.tensor1d(buf);
    const next = sgdStep({ params, buffer }, grad, s);
    const out = {
      params: Array.from(next.params.dataSync()),
      buffer: next.buffer === null ? null : Array.from(next.buffer.dataSync()),
    };
    [params, grad, buffer, next.params, next.buffer].forEach((t) => t?.dispose());
    return out;
  };
  const s = { lr: 0.1, momentum: 0.9, weightDecay: 0.1 };

  it('w=[1,-2] g=[0.5,0.25] mu=0.9 wd=0.1 lr=0.1: first step buf = g + wd w = [0.6,0.05], w = [0.94,-2.005]', () => {
    const first = step([1, -2], [0.5, 0.25], null, s);
    expectClose(first.buffer!, [0.6, 0.05], 1e-6, 'buffer');
    expectClose(first.params, [0.94, -2.005], 1e-6, 'params');
  });

  it('second step: buf = 0.9 buf + (g + wd w) = [-0.366, 1.8445], w = [0.9766, -2.18945]', () => {
    // d = [-1, 2] + 0.1 [0.94, -2.005] = [-0.906, 1.7995]; buf = [0.54, 0.045] + d; w -= 0.1 buf.
    const second = step([0.94, -2.005], [-1, 2], [0.6, 0.05], s);
    expectClose(second.buffer!, [-0.366, 1.8445], 1e-6, 'buffer');
    expectClose(second.params, [0.9766, -2.18945], 1e-6, 'params');
  });

  it('momentum 0 keeps no buffer: w -= lr (g + wd w)', () => {
    const out = step([1, -2], [0.5, 0.25], null, { ...s, momentum: 0 });
    expect(out.buffer).toBeNull();
    expectClose(out.params, [0.94, -2.005], 1e-6, 'params');
  });
});

/**
 * Independent oracle: the reference loop written out in plain JS (float64 parameters and momentum), with the
 * reference's schedule spelled literally, taking the engine's minibatch gradient at each step and replaying the
 * same random streams (init, shuffle, DSA draws) that trainNetwork documents.
 */
function referenceTraining(
  train: LabelledTensors,
  o: TrainNetworkOptions,
  variant: { resetMomentum: boolean },
): Float64Array {
  const rngs = trainingRngs(o.seed);
  const w = Float64Array.from(initConvNetParams(o.cfg, rngs.init));
  let buf: Float64Array | null = null;
  const [n, h, wd] = train.images.shape;
  let lr = o.lr;
  for (let ep = 0; ep < o.epochs + 1; ep++) {
    for (const batch of epochBatches(n, o.batchSize, rngs.shuffle)) {
      const draw = o.dsa ? sampleAugDraw(rngs.augment, batch.length, h, wd) : { family: 'none' as const };
      const g = tf.tidy(() => {
        const idx = tf.tensor1d(batch, 'int32');
        const x = applyAugDraw(tf.gather(train.images, idx) as Tensor4D, draw);
        const y = tf.gather(train.labels, idx) as Tensor1D;
        return tf.grad((t) => crossEntropy(convNetForward(t as Tensor1D, x, o.cfg), y))(
          tf.tensor1d(Float32Array.from(w)),
        );
      });
      const grad = g.dataSync();
      g.dispose();
      const d = w.map((wi, i) => grad[i]! + o.weightDecay * wi);
      buf = buf === null ? d : buf.map((b, i) => o.momentum * b + d[i]!);
      for (let i = 0; i < w.length; i++) w[i] = w[i]! - lr * buf[i]!;
    }
    if (ep === Math.floor(o.epochs / 2) + 1) {
      lr *= 0.1;
      if (variant.resetMomentum) buf = null;
    }
  }
  return w;
}

describe('trainNetwork (evaluate_synset)', () => {
  // 5 images in batches of 2 (2, 2, 1: the last partial batch kept), epochs=3: 4 epochs, decay after epoch 2.
  const opts: TrainNetworkOptions = {
    cfg: TINY,
    lr: 0.05,
    epochs: 3,
    batchSize: 2,
    momentum: 0.9,
    weightDecay: 0.05,
    dsa: true,
    seed: 7,
  };

  it(`matches a plain-JS SGD reference: ${JSON.stringify(TINY)} n=5 batch=2 epochs=3 dsa mu=0.9 wd=0.05`, async () => {
    const train = randomTensors(TINY, 5, 3);
    const epochs: { epoch: number; lr: number; momentumReset: boolean }[] = [];
    const got = await trainNetwork(train, opts, {
      onEpoch: (epoch, _loss, info) => void epochs.push({ epoch, ...info }),
    });
    const expected = referenceTraining(train, opts, { resetMomentum: true });
    const withoutReset = referenceTraining(train, opts, { resetMomentum: false });
    disposeAll(train);
    expect(got.length).toBe(convNetLayout(TINY).size);
    expectClose(got, expected, 1e-5, 'final params');
    // The check can see the reset: keeping the momentum across the decay gives clearly different parameters.
    expect(maxRelativeError(got, withoutReset)).toBeGreaterThan(1e-3);
    expect(epochs).toEqual([
      { epoch: 0, lr: 0.05, momentumReset: false },
      { epoch: 1, lr: 0.05, momentumReset: false },
      { epoch: 2, lr: 0.05, momentumReset: true },
      { epoch: 3, lr: 0.05 * 0.1, momentumReset: false },
    ]);
  });

  it('is deterministic in its seed, and the seed changes the init', async () => {
    const train = randomTensors(TINY, 4, 1);
    const short = { ...opts, epochs: 0 };
    const a = await trainNetwork(train, short);
    const b = await trainNetwork(train, short);
    const c = await trainNetwork(train, { ...short, seed: 8 });
    disposeAll(train);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(maxRelativeError(a, c)).toBeGreaterThan(1e-2);
  });

  it('reports the mean training loss per epoch (loss_avg / num_exp) and lowers it on a separable set', async () => {
    const train = imageSetTensors(separableSet(20, 1));
    const losses: number[] = [];
    await trainNetwork(
      train,
      { ...opts, cfg: SMALL, lr: 0.01, epochs: 10, batchSize: 8, dsa: false },
      { onEpoch: (_e, loss) => void losses.push(loss) },
    );
    disposeAll(train);
    expect(losses).toHaveLength(11);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[10]!).toBeLessThan(losses[0]!);
  });

  it('reaches high test accuracy on a trivially separable set (8x8, width 4, depth 2, dsa on)', async () => {
    const train = imageSetTensors(separableSet(20, 1));
    const params = await trainNetwork(train, {
      cfg: SMALL,
      lr: 0.01,
      epochs: 30,
      batchSize: 10,
      momentum: 0.9,
      weightDecay: 5e-4,
      dsa: true,
      seed: 0,
    });
    disposeAll(train);
    expect(await accuracy(params, separableSet(40, 2), SMALL)).toBeGreaterThanOrEqual(0.95);
  });

  it('keeps tensor memory flat (training, abort mid-run, accuracy)', async () => {
    const train = randomTensors(TINY, 5, 2);
    const before = tf.memory().numTensors;
    const params = await trainNetwork(train, opts);
    expect(tf.memory().numTensors).toBe(before);
    const controller = new AbortController();
    const aborted = trainNetwork(train, opts, {
      signal: controller.signal,
      onEpoch: (e) => (e === 1 ? controller.abort() : undefined),
    });
    await expect(aborted).rejects.toThrow(/abort/i);
    expect(tf.memory().numTensors).toBe(before);
    await accuracy(params, train, TINY, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    disposeAll(train);
  });

  it('throws when inputs are malformed, naming what was expected', async () => {
    const train = randomTensors(TINY, 5, 2);
    const badLabels = { images: train.images, labels: tf.tensor1d([0, 1, 0, 5, 1], 'int32') };
    await expect(trainNetwork(badLabels, opts)).rejects.toThrow(
      'trainNetwork: expected labels in [0, 2), got 5 at index 3',
    );
    const fewLabels = { images: train.images, labels: tf.tensor1d([0, 1, 0], 'int32') };
    await expect(trainNetwork(fewLabels, opts)).rejects.toThrow(
      'trainNetwork: expected 5 labels (one per image), got shape [3]',
    );
    const wrongSize = { images: tf.zeros([5, 8, 8, 1]) as Tensor4D, labels: train.labels };
    await expect(trainNetwork(wrongSize, opts)).rejects.toThrow(
      'trainNetwork: expected images [n, 4, 4, 1] (NHWC), got [5,8,8,1]',
    );
    await expect(trainNetwork(train, { ...opts, lr: NaN })).rejects.toThrow(
      'trainNetwork: expected a finite, positive lr, got NaN',
    );
    await expect(trainNetwork(train, { ...opts, lr: Infinity })).rejects.toThrow(
      'expected a finite, positive lr, got Infinity',
    );
    await expect(trainNetwork(train, { ...opts, batchSize: 0 })).rejects.toThrow(
      'expected a positive integer batch size, got 0',
    );
    await expect(trainNetwork(train, { ...opts, init: new Float32Array(3) })).rejects.toThrow(
      'expected init of 42 parameters, got 3',
    );
    const nanImages = { images: tf.fill([5, 4, 4, 1], NaN) as Tensor4D, labels: train.labels };
    await expect(trainNetwork(nanImages, opts)).rejects.toThrow(
      'trainNetwork: images contain NaN or Inf values',
    );
    [badLabels.labels, fewLabels.labels, wrongSize.images, nanImages.images].forEach((t) => t.dispose());
    disposeAll(train);
  });
});

describe('accuracy', () => {
  it('equals the label frequency of the class a constant classifier predicts (fc.bias only)', async () => {
    // All-zero conv weights give zero features after instance norm, so the logits are fc.bias = [0, 1]: class 1.
    const layout = convNetLayout(TINY);
    const params = new Float32Array(layout.size);
    params[layout.specs.find((s) => s.name === 'fc.bias')!.offset + 1] = 1;
    const set: ImageSet = { ...separableSet(7, 3, 4), labels: Int32Array.from([1, 1, 0, 1, 0, 0, 0]) };
    expect(await accuracy(params, set, TINY)).toBeCloseTo(3 / 7, 12);
    const tensors = imageSetTensors(set);
    expect(await accuracy(params, tensors, TINY, { batchSize: 3 })).toBeCloseTo(3 / 7, 12);
    disposeAll(tensors);
  });

  it('does not depend on the batch size, and ImageSet and tensors agree', async () => {
    const set = separableSet(11, 4, 4);
    const params = initConvNetParams(TINY, createRng(5));
    const results = await Promise.all(
      [1, 4, 11, 256].map((b) => accuracy(params, set, TINY, { batchSize: b })),
    );
    expect(new Set(results).size).toBe(1);
  });

  it('throws when the parameters or the set do not fit the model', async () => {
    const set = separableSet(4, 1, 4);
    await expect(accuracy(new Float32Array(5), set, TINY)).rejects.toThrow(
      'accuracy: expected a flat parameter vector of 42, got 5',
    );
    const params = new Float32Array(42);
    await expect(accuracy(params, { ...set, labels: Int32Array.from([0, 1, 2, 0]) }, TINY)).rejects.toThrow(
      'accuracy: expected labels in [0, 2), got 2 at index 2',
    );
    await expect(accuracy(params, { ...set, n: 5 }, TINY)).rejects.toThrow(
      'accuracy: expected 80 pixel values for n = 5, got 64',
    );
    await expect(accuracy(params, separableSet(4, 1, 8), TINY)).rejects.toThrow(
      'accuracy: expected images of 4x4x1 (HWC), got 8x8x1',
    );
  });
});

describe('meanAndStd', () => {
  it('is the population std (np.std, ddof 0): [1,2,3,4] -> mean 2.5, std sqrt(1.25)', () => {
    const { mean, std } = meanAndStd([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    expect(std).toBeCloseTo(Math.sqrt(1.25), 14);
    expect(meanAndStd([0.7])).toEqual({ mean: 0.7, std: 0 });
    expect(() => meanAndStd([])).toThrow('meanAndStd: expected at least one value, got none');
  });
});

describe('randomRealSubset', () => {
  // Image i is filled with the value i, so a picked image names its source index.
  const labelled = (labels: number[]): ImageSet => ({
    images: Float32Array.from(labels.flatMap((_, i) => new Array<number>(4).fill(i))),
    labels: Int32Array.from(labels),
    n: labels.length,
    height: 2,
    width: 2,
    channels: 1,
  });
  const train = labelled([2, 0, 1, 0, 2, 1, 0, 2, 1, 0]);

  it('picks ipc distinct images of each class, in class-major order, deterministically in the rng', () => {
    const subset = randomRealSubset(train, 2, createRng(1));
    expect(subset.n).toBe(6);
    expect(Array.from(subset.labels)).toEqual([0, 0, 1, 1, 2, 2]);
    const sources = Array.from({ length: 6 }, (_, k) => subset.images[k * 4]!);
    sources.forEach((src, k) => expect(train.labels[src]).toBe(subset.labels[k]));
    expect(new Set(sources).size).toBe(6);
    expect(Array.from(randomRealSubset(train, 2, createRng(1)).images)).toEqual(Array.from(subset.images));
    // All the images of a class are reachable: different rngs pick different images of class 0 (4 of them).
    const picks = new Set(
      Array.from({ length: 20 }, (_, s) => randomRealSubset(train, 1, createRng(s)).images[0]),
    );
    expect(picks.size).toBeGreaterThan(1);
  });

  it('throws naming the short classes when a class has fewer than ipc images', () => {
    expect(() => randomRealSubset(train, 4, createRng(1))).toThrow(
      'randomRealSubset: expected at least ipc = 4 images in every class, but class 1 has 3, class 2 has 3',
    );
    expect(() => randomRealSubset(train, 1, createRng(1), 4)).toThrow('but class 3 has 0');
    expect(() => randomRealSubset(train, 0, createRng(1))).toThrow(
      'randomRealSubset: expected a positive integer ipc, got 0',
    );
  });
});

describe('evaluation protocol and baselines (same harness)', () => {
  const small = { runs: 2, epochs: 2, batchSize: 10, seed: 3 };

  it('evaluateSynthetic: runs fresh networks with derived seeds, mean and population std, and records the protocol', async () => {
    const synthetic = { ...imageSetTensors(separableSet(4, 5)), lr: 0.01 };
    const data = { test: separableSet(10, 6), val: separableSet(6, 7) };
    const seen: number[] = [];
    const result = await evaluateSynthetic(synthetic, data, SMALL, evalConfig(small), {
      onRun: (run) => void seen.push(run),
    });
    disposeAll(synthetic);
    expect(seen).toEqual([0, 1]);
    expect(result.runs).toHaveLength(2);
    expect(result.runs[0]!.seed).not.toBe(result.runs[1]!.seed);
    const tests = result.runs.map((r) => r.testAccuracy);
    expect(result.mean).toBeCloseTo((tests[0]! + tests[1]!) / 2, 12);
    expect(result.std).toBeCloseTo(Math.abs(tests[0]! - tests[1]!) / 2, 12);
    expect(result.val).toEqual(meanAndStd(result.runs.map((r) => r.valAccuracy!)));
    expect(result.protocol).toMatchObject({
      training: { kind: 'synthetic', images: 4 },
      lr: 0.01,
      lrSource: 'learned syn_lr',
      epochs: 2,
      epochsRun: 3,
      lrDecayAfterEpoch: 2,
      lrDecayFactor: 0.1,
      batchSize: 10,
      momentum: 0.9,
      weightDecay: 5e-4,
      augmentation: 'color_crop_cutout_flip_scale_rotate',
      runs: 2,
      seed: 3,
      std: 'population (np.std)',
      selection: 'val',
    });
  });

  it('evaluateSynthetic throws on a non-finite learned lr', async () => {
    const synthetic = { ...imageSetTensors(separableSet(4, 5)), lr: NaN };
    await expect(
      evaluateSynthetic(synthetic, { test: separableSet(4, 6) }, SMALL, evalConfig(small)),
    ).rejects.toThrow('evaluateSynthetic: expected a finite, positive learned lr (syn_lr), got NaN');
    disposeAll(synthetic);
  });

  it('real baselines state their lr: the expert lr 0.01 by default, or the configured one; no tensors leak', async () => {
    const train = separableSet(12, 8);
    const data = { test: separableSet(6, 9) };
    const before = tf.memory().numTensors;
    const subset = await evaluateRealSubset(train, 2, data, SMALL, evalConfig({ ...small, runs: 1 }));
    expect(subset.protocol).toMatchObject({
      training: { kind: 'real-subset', images: 4, ipc: 2 },
      lr: REAL_BASELINE_LR,
      lrSource: 'expert lr (default)',
    });
    expect(REAL_BASELINE_LR).toBe(0.01);
    const full = await evaluateFullReal(train, data, SMALL, evalConfig({ ...small, runs: 1, dsa: false }), {
      lr: 0.02,
    });
    expect(full.protocol).toMatchObject({
      training: { kind: 'full-real', images: 12 },
      lr: 0.02,
      lrSource: 'configured',
      augmentation: 'none',
    });
    expect(tf.memory().numTensors).toBe(before);
    await expect(evaluateRealSubset(train, 7, data, SMALL, evalConfig(small))).rejects.toThrow(
      'class 0 has 6, class 1 has 6',
    );
  });
});

describe('selectBest', () => {
  const history = [
    { iteration: 500, testAccuracy: 0.8, valAccuracy: 0.7 },
    { iteration: 1000, testAccuracy: 0.9, valAccuracy: 0.6 },
    { iteration: 1500, testAccuracy: 0.85, valAccuracy: 0.75 },
    { iteration: 2000, testAccuracy: 0.9, valAccuracy: 0.75 },
  ];

  it('defaults to val; test reproduces the reference; the first of equals wins (strictly-greater update)', () => {
    expect(selectBest(history).point.iteration).toBe(1500);
    expect(selectBest(history, 'val').index).toBe(2);
    expect(selectBest(history, 'test').point.iteration).toBe(1000);
  });

  it('throws when the split is missing, pointing at the test option', () => {
    expect(() => selectBest([{ testAccuracy: 0.5 }])).toThrow(
      "selectBest: expected a finite val accuracy at every point, got undefined at index 0 (no validation split? set evaluate.selection to 'test'",
    );
    expect(() => selectBest([])).toThrow('selectBest: expected at least one evaluation point, got none');
    expect(() => assertSelectable('val', { test: separableSet(2, 1) })).toThrow(
      "selection is 'val' but the dataset has no validation split",
    );
    expect(() => assertSelectable('test', { test: separableSet(2, 1) })).not.toThrow();
  });
});
