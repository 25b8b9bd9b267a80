import { tf } from '../../engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../engine/tf.ts';
import type { RunConfig } from '../../config/index.ts';
import { putJson } from '../../storage/json.ts';
import { decodeSafetensors, int64ToNumbers } from '../../storage/safetensors.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import { evaluateRealSubset } from '../evaluate/baselines.ts';
import {
  evaluateSynthetic,
  mergeEvaluations,
  type EvaluationHooks,
  type EvaluationResult,
} from '../evaluate/protocol.ts';
import { assertSelectable, type SelectionSplit } from '../evaluate/selection.ts';
import type { RunData } from './data.ts';
import { resultsPrefix } from './keys.ts';
import { SET_FILES, type SetFile, type SetKind } from './outputs.ts';

export interface PublishedSet {
  images: Float32Array;
  shape: [number, number, number, number];
  labels: Int32Array;
  lr: number;
  /** The label the publish step wrote (older files without one read as 'final'). */
  kind?: SetKind;
  /** Updates applied to these images. */
  iteration?: number;
  selection?: { split: SelectionSplit; accuracy: number };
}

/**
 * Reads a published synthetic set back, checking its layout: `results/<stage>/synthetic.safetensors` (the
 * published set: the selected one when the run had evaluation points) or, with `file: 'final'`, the final iterate.
 */
export async function loadPublishedSet(
  store: ArtifactStore,
  runId: string,
  stage: string,
  file: SetFile = 'published',
): Promise<PublishedSet> {
  const key = `${resultsPrefix(runId, stage)}/${SET_FILES[file].tensors}`;
  const { tensors, metadata } = decodeSafetensors(await store.get(key), key);
  const { images, labels, lr } = tensors;
  if (images?.dtype !== 'F32' || images.shape.length !== 4)
    throw new Error(`${key}: expected float32 images [n, H, W, C], got ${images?.dtype} [${images?.shape}]`);
  if (labels?.dtype !== 'I64' || labels.shape[0] !== images.shape[0])
    throw new Error(
      `${key}: expected ${images.shape[0]} int64 labels, got ${labels?.dtype} [${labels?.shape}]`,
    );
  if (lr?.dtype !== 'F32' || lr.data.length !== 1)
    throw new Error(`${key}: expected a float32 scalar lr, got ${lr?.dtype} [${lr?.shape}]`);
  const kind: SetKind = metadata?.set === 'selected' ? 'selected' : 'final';
  const iteration = Number(metadata?.iteration);
  const split = metadata?.selectedOn;
  return {
    images: images.data,
    shape: images.shape as [number, number, number, number],
    labels: Int32Array.from(int64ToNumbers(labels.data, key, 'labels')),
    lr: lr.data[0]!,
    kind,
    ...(Number.isInteger(iteration) ? { iteration } : {}),
    ...(split === 'val' || split === 'test'
      ? { selection: { split, accuracy: Number(metadata?.selectionAccuracy) } }
      : {}),
  };
}

/** What a stage evaluation says about one set besides its figures. */
export interface EvaluatedSetInfo {
  kind: SetKind;
  iteration: number | null;
  lr: number;
  selection: { split: SelectionSplit; accuracy: number } | null;
}

export interface StageEvaluation {
  /** The published set: the selected one when the run had evaluation points, else the final iterate. */
  synthetic: EvaluationResult;
  randomReal: EvaluationResult | null;
  key: string;
  /** The final iterate; the same figures as `synthetic` when the published set is the final one. */
  final?: EvaluationResult;
  /** Labels of the two sets (which is which, iteration, lr, selection split and score). */
  sets?: { synthetic: EvaluatedSetInfo; final: EvaluatedSetInfo };
}

const setInfo = (s: PublishedSet): EvaluatedSetInfo => ({
  kind: s.kind ?? 'final',
  iteration: s.iteration ?? null,
  lr: s.lr,
  selection: s.selection ?? null,
});

/** The sets a stage evaluation measures: the published one, the final iterate (when the published set is
 * the selected one) and the random-real-subset baseline. */
export type EvaluationPart = 'published' | 'final' | 'random-real';

/** One unit of a fan-out: some networks of one part. */
export interface EvaluationTask {
  part: EvaluationPart;
  networks: number[];
}

/** Every network of every part that applies, one task each (what the pipeline runs in parallel). */
export async function evaluationTasks(
  cfg: RunConfig,
  store: ArtifactStore,
  runId: string,
  stage: string,
  opts: { baseline: boolean },
): Promise<EvaluationTask[]> {
  const set = await loadPublishedSet(store, runId, stage);
  const parts: EvaluationPart[] = [
    'published',
    ...(set.kind === 'selected' ? (['final'] as const) : []),
    ...(opts.baseline ? (['random-real'] as const) : []),
  ];
  return parts.flatMap((part) =>
    Array.from({ length: cfg.evaluate.runs }, (_, network) => ({ part, networks: [network] })),
  );
}

/**
 * Trains and measures the task's networks with the reference protocol (fresh networks, learned lr; the
 * baseline draws its real subset per network seed). Seeds depend only on the network index, so the same
 * network gives the same figures alone or among all, and the published and final sets are compared
 * network for network. A 'val' selection without a val split is an error.
 */
export async function evaluateTask(
  cfg: RunConfig,
  data: RunData,
  store: ArtifactStore,
  runId: string,
  stage: string,
  task: EvaluationTask,
  hooks: EvaluationHooks = {},
): Promise<EvaluationResult> {
  const { dataset } = data;
  assertSelectable(cfg.evaluate.selection, dataset);
  const held = { test: dataset.test, val: dataset.val };
  const withNetworks = { ...hooks, networks: task.networks };
  if (task.part === 'random-real')
    return await evaluateRealSubset(dataset.train, cfg.distill.ipc, held, data.model, cfg.evaluate, {
      hooks: withNetworks,
    });
  const set = await loadPublishedSet(store, runId, stage, task.part === 'final' ? 'final' : 'published');
  const images = tf.tensor4d(set.images, set.shape) as Tensor4D;
  const labels = tf.tensor1d(set.labels, 'int32') as Tensor1D;
  try {
    return await evaluateSynthetic(
      { images, labels, lr: set.lr },
      held,
      data.model,
      cfg.evaluate,
      withNetworks,
    );
  } finally {
    tf.dispose([images, labels]);
  }
}

/**
 * Joins the tasks' results per part and stores results/<stage>/evaluation.json: the published set, the
 * final iterate (the published figures when they are the same set), the baseline, and which set is which.
 */
export async function recordStageEvaluation(
  store: ArtifactStore,
  runId: string,
  stage: string,
  datasetName: string,
  results: readonly { part: EvaluationPart; result: EvaluationResult }[],
): Promise<StageEvaluation> {
  const merged = (part: EvaluationPart): EvaluationResult | null => {
    const parts = results.filter((r) => r.part === part).map((r) => r.result);
    return parts.length === 0 ? null : mergeEvaluations(parts);
  };
  const synthetic = merged('published');
  if (synthetic === null)
    throw new Error(`evaluation of run '${runId}' stage '${stage}': no result for the published set`);
  const set = await loadPublishedSet(store, runId, stage);
  const finalSet = set.kind === 'selected' ? await loadPublishedSet(store, runId, stage, 'final') : set;
  const final = finalSet === set ? synthetic : merged('final');
  if (final === null)
    throw new Error(`evaluation of run '${runId}' stage '${stage}': no result for the final iterate`);
  const randomReal = merged('random-real');
  const sets = { synthetic: setInfo(set), final: setInfo(finalSet) };
  const key = `${resultsPrefix(runId, stage)}/evaluation.json`;
  await putJson(store, key, { synthetic, final, sets, randomReal, dataset: datasetName });
  return { synthetic, randomReal, key, final, sets };
}

/**
 * Evaluates a stage's published set with the reference protocol and, when that is the selected set, the
 * final iterate too, optionally beside the random-real-subset baseline with the same images per class in
 * the same harness, and stores the figures as results/<stage>/evaluation.json. The CLI runs this; the
 * pipeline runs the same tasks as parallel activities.
 */
export async function evaluateStage(
  cfg: RunConfig,
  data: RunData,
  store: ArtifactStore,
  runId: string,
  stage: string,
  opts: { baseline: boolean; hooks?: EvaluationHooks },
): Promise<StageEvaluation> {
  assertSelectable(cfg.evaluate.selection, data.dataset);
  const tasks = await evaluationTasks(cfg, store, runId, stage, opts);
  const parts = [...new Set(tasks.map((t) => t.part))];
  const results: { part: EvaluationPart; result: EvaluationResult }[] = [];
  for (const part of parts) {
    const networks = tasks.filter((t) => t.part === part).flatMap((t) => t.networks);
    results.push({
      part,
      result: await evaluateTask(cfg, data, store, runId, stage, { part, networks }, opts.hooks),
    });
  }
  return await recordStageEvaluation(store, runId, stage, data.dataset.manifest.name, results);
}
