import { tf } from '../../engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../engine/tf.ts';
import type { RunConfig } from '../../config/index.ts';
import { putJson } from '../../storage/json.ts';
import { decodeSafetensors, int64ToNumbers } from '../../storage/safetensors.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import { evaluateRealSubset } from '../evaluate/baselines.ts';
import { evaluateSynthetic, type EvaluationHooks, type EvaluationResult } from '../evaluate/protocol.ts';
import type { RunData } from './data.ts';
import { resultsPrefix } from './keys.ts';

export interface PublishedSet {
  images: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  lr: number;
}

/** Reads a published synthetic set (results/<stage>/synthetic.safetensors) back, checking its layout. */
export async function loadPublishedSet(
  store: ArtifactStore,
  runId: string,
  stage: string,
): Promise<PublishedSet> {
  const key = `${resultsPrefix(runId, stage)}/synthetic.safetensors`;
  const { tensors } = decodeSafetensors(await store.get(key), key);
  const { images, labels, lr } = tensors;
  if (images?.dtype !== 'F32' || images.shape.length !== 4)
    throw new Error(`${key}: expected float32 images [n, H, W, C], got ${images?.dtype} [${images?.shape}]`);
  if (labels?.dtype !== 'I64' || labels.shape[0] !== images.shape[0])
    throw new Error(
      `${key}: expected ${images.shape[0]} int64 labels, got ${labels?.dtype} [${labels?.shape}]`,
    );
  if (lr?.dtype !== 'F32' || lr.data.length !== 1)
    throw new Error(`${key}: expected a float32 scalar lr, got ${lr?.dtype} [${lr?.shape}]`);
  return {
    images: images.data,
    shape: images.shape as [number, number, number, number],
    labels: Int32Array.from(int64ToNumbers(labels.data, key, 'labels')),
    lr: lr.data[0]!,
  };
}

export interface StageEvaluation {
  synthetic: EvaluationResult;
  randomReal: EvaluationResult | null;
  key: string;
}

/**
 * Evaluates a stage's published set with the reference protocol (fresh networks, learned lr), optionally
 * beside the random-real-subset baseline with the same images per class in the same harness, and stores
 * the figures as results/<stage>/evaluation.json.
 */
export async function evaluateStage(
  cfg: RunConfig,
  data: RunData,
  store: ArtifactStore,
  runId: string,
  stage: string,
  opts: { baseline: boolean; hooks?: EvaluationHooks },
): Promise<StageEvaluation> {
  const set = await loadPublishedSet(store, runId, stage);
  const { dataset } = data;
  const held = { test: dataset.test, val: dataset.val };
  const images = tf.tensor4d(set.images, set.shape) as Tensor4D;
  const labels = tf.tensor1d(set.labels, 'int32') as Tensor1D;
  try {
    const synthetic = await evaluateSynthetic(
      { images, labels, lr: set.lr },
      held,
      data.model,
      cfg.evaluate,
      opts.hooks,
    );
    const randomReal = opts.baseline
      ? await evaluateRealSubset(dataset.train, cfg.distill.ipc, held, data.model, cfg.evaluate, {
          hooks: opts.hooks,
        })
      : null;
    const key = `${resultsPrefix(runId, stage)}/evaluation.json`;
    await putJson(store, key, { synthetic, randomReal, dataset: dataset.manifest.name });
    return { synthetic, randomReal, key };
  } finally {
    tf.dispose([images, labels]);
  }
}
