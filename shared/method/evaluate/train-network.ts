import { tf } from '../../engine/tf.ts';
import type { Scalar, Tensor1D, Tensor4D } from '../../engine/tf.ts';
import { convNetForward } from '../../engine/convnet/forward.ts';
import { convNetLayout, type ConvNetConfig } from '../../engine/convnet/layout.ts';
import { initConvNetParams } from '../../engine/convnet/init.ts';
import { crossEntropy } from '../../engine/ops/cross-entropy.ts';
import { applyAugDraw } from '../../engine/dsa/apply.ts';
import { sampleAugDraw } from '../../engine/dsa/draws.ts';
import { createRng, deriveSeed, type Rng } from '../../engine/random.ts';
import { epochBatches } from '../batches.ts';
import { validateLabelledTensors, type LabelledTensors } from './labelled.ts';
import { evalSchedule, lrAt, resetsMomentumAfter } from './schedule.ts';
import { sgdStep, type SgdState } from './sgd.ts';

export interface TrainNetworkOptions {
  cfg: ConvNetConfig;
  /** The base lr (the learned syn_lr for synthetic sets); decayed by 0.1 after epoch `epochs // 2 + 1`. */
  lr: number;
  /** The reference's `Epoch` (epoch_eval_train): `epochs + 1` epochs are run. */
  epochs: number;
  batchSize: number;
  momentum: number;
  weightDecay: number;
  /** DSA (method.md section D) on every minibatch, a fresh draw per batch. */
  dsa: boolean;
  /** Root of the run's random streams (init, shuffling, augmentation); see `trainingRngs`. */
  seed: number;
  /** Start from these parameters instead of a fresh PyTorch-default init drawn from the seed. */
  init?: Float32Array;
}

export interface EpochInfo {
  /** The lr this epoch's steps used. */
  lr: number;
  /** True when the optimizer was re-created after this epoch (lr decayed, momentum buffer dropped). */
  momentumReset: boolean;
}

export interface TrainNetworkHooks {
  /** After each epoch, with the epoch's mean training loss (the reference's `loss_avg / num_exp`). */
  onEpoch?(epoch: number, loss: number, info: EpochInfo): void | Promise<void>;
  /** Checked before every minibatch; an abort rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * The independent random streams of one training run, each split from its seed (style.md section 5), so that
 * switching DSA off does not change the init or the batch order.
 */
export function trainingRngs(seed: number): { init: Rng; shuffle: Rng; augment: Rng } {
  return {
    init: createRng(deriveSeed(seed, 'init')),
    shuffle: createRng(deriveSeed(seed, 'shuffle')),
    augment: createRng(deriveSeed(seed, 'dsa')),
  };
}

/**
 * Trains a fresh ConvNet exactly as the reference `evaluate_synset` (method.md section F) and returns its final
 * flat parameters:
 * - PyTorch-default init from the seed (or `opts.init`);
 * - `epochs + 1` epochs (`range(Epoch + 1)`) of shuffled minibatches, the last partial batch kept;
 * - DSA on every minibatch when `dsa` (one family per batch, per-sample parameters, a fresh draw each batch);
 * - mean cross-entropy; torch.optim.SGD with momentum and weight decay added to the gradient (`sgdStep`);
 * - after epoch index `epochs // 2 + 1` the lr is multiplied by 0.1 and the optimizer re-created, which resets
 *   the momentum buffer (`schedule.ts`).
 * It yields to the event loop between minibatches, so heartbeats and timers keep running.
 */
export async function trainNetwork(
  train: LabelledTensors,
  opts: TrainNetworkOptions,
  hooks: TrainNetworkHooks = {},
): Promise<Float32Array> {
  validateTrainOptions(opts);
  await validateLabelledTensors(train, opts.cfg, 'trainNetwork');
  hooks.signal?.throwIfAborted();
  const { cfg } = opts;
  const [n, height, width] = train.images.shape;
  const schedule = evalSchedule(opts.epochs);
  const rngs = trainingRngs(opts.seed);
  const init = opts.init ?? initConvNetParams(cfg, rngs.init);

  let state: SgdState = { params: tf.tensor1d(init), buffer: null };
  // Sum over the epoch's batches of (mean batch loss x batch size), read once per epoch.
  let lossSum: Scalar | null = null;
  const lossOf =
    (images: Tensor4D, labels: Tensor1D) =>
    (theta: Tensor1D): Scalar =>
      crossEntropy(convNetForward(theta, images, cfg), labels);
  try {
    for (let epoch = 0; epoch < schedule.totalEpochs; epoch++) {
      const lr = lrAt(epoch, opts.lr, opts.epochs);
      const settings = { lr, momentum: opts.momentum, weightDecay: opts.weightDecay };
      lossSum = tf.scalar(0);
      for (const batch of epochBatches(n, opts.batchSize, rngs.shuffle)) {
        hooks.signal?.throwIfAborted();
        const draw = opts.dsa ? sampleAugDraw(rngs.augment, batch.length, height, width) : null;
        const { grad, loss } = tf.tidy(() => {
          const idx = tf.tensor1d(batch, 'int32');
          const gathered = tf.gather(train.images, idx) as Tensor4D;
          // The augmentation carries no parameters, so it stays outside the differentiated function.
          const images = draw === null ? gathered : applyAugDraw(gathered, draw);
          const { value, grad: g } = tf.valueAndGrad(
            lossOf(images, tf.gather(train.labels, idx) as Tensor1D),
          )(state.params);
          return { grad: g as Tensor1D, loss: tf.add(lossSum!, tf.mul(value, batch.length)) as Scalar };
        });
        const next = sgdStep(state, grad, settings);
        grad.dispose();
        lossSum.dispose();
        disposeState(state);
        state = next;
        lossSum = loss;
        await tf.nextFrame();
      }
      const loss = (await lossSum.data())[0]! / n;
      lossSum.dispose();
      lossSum = null;
      const momentumReset = resetsMomentumAfter(epoch, opts.epochs);
      if (momentumReset) {
        // Reference: `lr *= 0.1; optimizer = torch.optim.SGD(...)` after epoch Epoch // 2 + 1. The new optimizer
        // has no momentum buffer, so the first step after the decay starts again from buf = g + wd * w.
        state.buffer?.dispose();
        state = { params: state.params, buffer: null };
      }
      await hooks.onEpoch?.(epoch, loss, { lr, momentumReset });
    }
    return (await state.params.data()) as Float32Array;
  } finally {
    disposeState(state);
    lossSum?.dispose();
  }
}

function disposeState(state: SgdState): void {
  state.params.dispose();
  state.buffer?.dispose();
}

function validateTrainOptions(opts: TrainNetworkOptions): void {
  const where = 'trainNetwork';
  if (!Number.isFinite(opts.lr) || opts.lr <= 0)
    throw new Error(`${where}: expected a finite, positive lr, got ${opts.lr}`);
  if (!Number.isInteger(opts.epochs) || opts.epochs < 0) {
    throw new Error(`${where}: expected a non-negative integer number of epochs, got ${opts.epochs}`);
  }
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new Error(`${where}: expected a positive integer batch size, got ${opts.batchSize}`);
  }
  if (!Number.isFinite(opts.momentum) || opts.momentum < 0 || opts.momentum > 1) {
    throw new Error(`${where}: expected momentum in [0, 1], got ${opts.momentum}`);
  }
  if (!Number.isFinite(opts.weightDecay) || opts.weightDecay < 0) {
    throw new Error(`${where}: expected a finite, non-negative weight decay, got ${opts.weightDecay}`);
  }
  if (!Number.isInteger(opts.seed)) throw new Error(`${where}: expected an integer seed, got ${opts.seed}`);
  if (opts.init !== undefined) {
    const size = convNetLayout(opts.cfg).size;
    if (opts.init.length !== size)
      throw new Error(`${where}: expected init of ${size} parameters, got ${opts.init.length}`);
    const bad = opts.init.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new Error(`${where}: init contains a non-finite value (${opts.init[bad]} at index ${bad})`);
  }
}
