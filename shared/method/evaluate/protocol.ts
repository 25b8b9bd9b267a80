import type { Tensor1D, Tensor4D } from '../../engine/tf.ts';
import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import { DSA_FAMILIES } from '../../engine/dsa/draws.ts';
import { deriveSeed } from '../../engine/random.ts';
import { evaluateSchema, type EvaluateConfig } from '../../config/evaluate.ts';
import type { ImageSet } from '../../data/types.ts';
import { accuracy } from './accuracy.ts';
import { validateImageSet, type LabelledTensors } from './labelled.ts';
import { evalSchedule, LR_DECAY_FACTOR } from './schedule.ts';
import { trainNetwork } from './train-network.ts';

/** A distilled set: images (NHWC), hard labels and the learned lr (syn_lr) it is evaluated with. */
export interface SyntheticSet {
  images: Tensor4D;
  labels: Tensor1D;
  lr: number;
}

/** The held-out splits: accuracy is always measured on test; on val too when it is given (for model selection). */
export interface EvaluationData {
  test: ImageSet;
  val?: ImageSet;
}

export interface RunResult {
  /** Which of the `runs` networks this is (its seed derives from the index). */
  network: number;
  /** The seed of this network's init, batch order and augmentation draws. */
  seed: number;
  testAccuracy: number;
  valAccuracy?: number;
  /** Mean training loss of the last epoch. */
  finalLoss: number;
}

/** Where the lr of a protocol came from; real-data baselines have no learned lr, so the result must say. */
export type LrSource = 'learned syn_lr' | 'expert lr (default)' | 'configured';

export type TrainingSource =
  | { kind: 'synthetic'; images: number }
  | { kind: 'real-subset'; images: number; ipc: number }
  | { kind: 'full-real'; images: number };

/** Everything that fixed the numbers, stored beside them (style.md section 5: record what ran). */
export interface ProtocolRecord {
  training: TrainingSource;
  model: ConvNetConfig;
  lr: number;
  lrSource: LrSource;
  /** The configured Epoch; `epochsRun = epochs + 1` epochs ran (reference `range(Epoch + 1)`). */
  epochs: number;
  epochsRun: number;
  /** lr x 0.1 and a fresh optimizer (momentum buffer dropped) after this epoch index. */
  lrDecayAfterEpoch: number;
  lrDecayFactor: number;
  batchSize: number;
  momentum: number;
  weightDecay: number;
  /** DSA strategy string, or 'none'. */
  augmentation: string;
  runs: number;
  seed: number;
  metric: 'top-1 accuracy (fraction) on test after the final epoch';
  std: 'population (np.std)';
  selection: EvaluateConfig['selection'];
}

export interface EvaluationResult {
  runs: RunResult[];
  /** Mean and population std of the test accuracy over runs (what the reference reports). */
  mean: number;
  std: number;
  /** The same over the validation accuracies, when a val split was given. */
  val?: { mean: number; std: number };
  protocol: ProtocolRecord;
}

export interface EvaluationHooks {
  signal?: AbortSignal;
  /** After each network's training epoch. */
  onEpoch?(run: number, epoch: number, loss: number): void | Promise<void>;
  /** After each network is trained and measured. */
  onRun?(run: number, result: RunResult): void | Promise<void>;
  /**
   * Train and measure only these networks (0-based indices below `runs`), e.g. one per activity of a
   * fan-out; `mergeEvaluations` joins the parts into the result of all of them. Default: every network.
   */
  networks?: readonly number[];
}

/** Mean and population standard deviation (numpy's default `np.std`, ddof = 0). */
export function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) throw new Error('meanAndStd: expected at least one value, got none');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

/**
 * Joins evaluations of disjoint sets of networks under one protocol (a fan-out's parts) into the result of
 * all of them: runs in network order, mean and population std over all.
 */
export function mergeEvaluations(parts: readonly EvaluationResult[]): EvaluationResult {
  const [first] = parts;
  if (first === undefined) throw new Error('mergeEvaluations: expected at least one part, got none');
  const protocol = JSON.stringify(first.protocol);
  if (parts.some((p) => JSON.stringify(p.protocol) !== protocol))
    throw new Error('mergeEvaluations: the parts were measured under different protocols');
  const runs = parts.flatMap((p) => p.runs).sort((a, b) => a.network - b.network);
  const seen = runs.map((r) => r.network);
  if (new Set(seen).size !== seen.length)
    throw new Error(`mergeEvaluations: a network was measured twice (networks ${seen.join(', ')})`);
  const withVal = runs.every((r) => r.valAccuracy !== undefined);
  return {
    runs,
    ...meanAndStd(runs.map((r) => r.testAccuracy)),
    ...(withVal ? { val: meanAndStd(runs.map((r) => r.valAccuracy!)) } : {}),
    protocol: first.protocol,
  };
}

/** The seed of evaluation network `run` (0-based), split from the evaluation seed. */
export const runSeed = (evalSeed: number, run: number): number =>
  deriveSeed(evalSeed, 'evaluate', 'run', run);

/** What one run trains on: tensors, and whether the harness must dispose them after the run. */
export interface RunTrainingSet {
  data: LabelledTensors;
  owned: boolean;
}

export interface HarnessSpec {
  training: TrainingSource;
  lr: number;
  lrSource: LrSource;
  /** The training set of run `run` with seed `seed` (the real-subset baseline draws a fresh subset per run). */
  trainingSet(run: number, seed: number): RunTrainingSet;
}

/**
 * The shared harness (method.md section F): `evalCfg.runs` fresh networks, each trained with `trainNetwork` and
 * measured on test (and val when given); mean and population std over runs. Synthetic sets and the real-data
 * baselines all go through here, so they differ only in the training images and the lr.
 */
export async function evaluateWith(
  spec: HarnessSpec,
  data: EvaluationData,
  cfg: ConvNetConfig,
  evalCfg: EvaluateConfig,
  hooks: EvaluationHooks = {},
): Promise<EvaluationResult> {
  const settings = evaluateSchema.parse(evalCfg);
  validateImageSet(data.test, cfg, 'evaluate (test split)');
  if (data.val !== undefined) validateImageSet(data.val, cfg, 'evaluate (val split)');
  if (!Number.isFinite(spec.lr) || spec.lr <= 0) {
    throw new Error(`evaluate: expected a finite, positive lr (${spec.lrSource}), got ${spec.lr}`);
  }
  const networks = hooks.networks ?? Array.from({ length: settings.runs }, (_, i) => i);
  const outside = networks.filter((n) => !Number.isInteger(n) || n < 0 || n >= settings.runs);
  if (outside.length > 0 || networks.length === 0)
    throw new Error(
      `evaluate: networks must be indices in 0..${settings.runs - 1} (evaluate.runs = ${settings.runs}), got [${networks.join(', ')}]`,
    );
  const runs: RunResult[] = [];
  for (const run of networks) {
    const seed = runSeed(settings.seed, run);
    const set = spec.trainingSet(run, seed);
    let finalLoss = NaN;
    let params: Float32Array;
    try {
      params = await trainNetwork(
        set.data,
        {
          cfg,
          lr: spec.lr,
          epochs: settings.epochs,
          batchSize: settings.batchSize,
          momentum: settings.momentum,
          weightDecay: settings.weightDecay,
          dsa: settings.dsa,
          seed,
        },
        {
          signal: hooks.signal,
          onEpoch: async (epoch, loss) => {
            finalLoss = loss;
            await hooks.onEpoch?.(run, epoch, loss);
          },
        },
      );
    } finally {
      if (set.owned) {
        set.data.images.dispose();
        set.data.labels.dispose();
      }
    }
    const measure = { signal: hooks.signal };
    const result: RunResult = {
      network: run,
      seed,
      testAccuracy: await accuracy(params, data.test, cfg, measure),
      finalLoss,
    };
    if (data.val !== undefined) result.valAccuracy = await accuracy(params, data.val, cfg, measure);
    runs.push(result);
    await hooks.onRun?.(run, result);
  }

  const test = meanAndStd(runs.map((r) => r.testAccuracy));
  const schedule = evalSchedule(settings.epochs);
  return {
    runs,
    ...test,
    ...(data.val !== undefined ? { val: meanAndStd(runs.map((r) => r.valAccuracy!)) } : {}),
    protocol: {
      training: spec.training,
      model: { ...cfg },
      lr: spec.lr,
      lrSource: spec.lrSource,
      epochs: settings.epochs,
      epochsRun: schedule.totalEpochs,
      lrDecayAfterEpoch: schedule.decayAfterEpoch,
      lrDecayFactor: LR_DECAY_FACTOR,
      batchSize: settings.batchSize,
      momentum: settings.momentum,
      weightDecay: settings.weightDecay,
      augmentation: settings.dsa ? DSA_FAMILIES.join('_') : 'none',
      runs: settings.runs,
      seed: settings.seed,
      metric: 'top-1 accuracy (fraction) on test after the final epoch',
      std: 'population (np.std)',
      selection: settings.selection,
    },
  };
}

/**
 * Evaluates a distilled set as the reference `distill/evaluation.py` does (method.md section F): `evalCfg.runs`
 * fresh networks trained on the synthetic images at the learned lr, top-1 test accuracy, mean and population std.
 * The caller keeps ownership of the synthetic tensors.
 */
export async function evaluateSynthetic(
  synthetic: SyntheticSet,
  data: EvaluationData,
  cfg: ConvNetConfig,
  evalCfg: EvaluateConfig,
  hooks: EvaluationHooks = {},
): Promise<EvaluationResult> {
  if (!Number.isFinite(synthetic.lr) || synthetic.lr <= 0) {
    throw new Error(
      `evaluateSynthetic: expected a finite, positive learned lr (syn_lr), got ${synthetic.lr}`,
    );
  }
  return evaluateWith(
    {
      training: { kind: 'synthetic', images: synthetic.images.shape[0] },
      lr: synthetic.lr,
      lrSource: 'learned syn_lr',
      trainingSet: () => ({ data: synthetic, owned: false }),
    },
    data,
    cfg,
    evalCfg,
    hooks,
  );
}
