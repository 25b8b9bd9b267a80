import type { DatasetManifest } from '../../data/types.ts';
import type { SelectionSplit } from '../evaluate/selection.ts';
import { encodeSafetensors } from '../../storage/safetensors.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import type { DistillState } from '../distill/state.ts';
import { classGridPng } from './png-grid.ts';

/** Which set a published file holds: the one selected at an evaluation point, or the final iterate. */
export type SetKind = 'selected' | 'final';

/** One synthetic set to publish, with where it came from. */
export interface SetToPublish {
  kind: SetKind;
  images: Float32Array;
  imageShape: DistillState['imageShape'];
  labels: Int32Array;
  lr: number;
  /** Updates applied to the images (the evaluated iteration for a selected set, iterations + 1 for the final). */
  iteration: number;
  /** For a selected set: the split it was selected on and its accuracy there. */
  selection?: { split: SelectionSplit; accuracy: number };
}

/** File names under results/<stage>/: the published set (selected when there is one) and the final iterate. */
export const SET_FILES = {
  published: { tensors: 'synthetic.safetensors', pngPrefix: 'class-' },
  final: { tensors: 'synthetic-final.safetensors', pngPrefix: 'final-class-' },
} as const;
export type SetFile = keyof typeof SET_FILES;

/** The sets a finished state implies: the selected set (null when nothing was evaluated) and the final one. */
export function stageSets(
  state: DistillState,
  split: SelectionSplit,
): { selected: SetToPublish | null; final: SetToPublish } {
  const { imageShape, labels } = state;
  const final: SetToPublish = {
    kind: 'final',
    images: state.images,
    imageShape,
    labels,
    lr: state.lr,
    iteration: state.iteration,
  };
  const b = state.best;
  const selected: SetToPublish | null =
    b === null
      ? null
      : {
          kind: 'selected',
          images: b.images,
          imageShape,
          labels,
          lr: b.lr,
          iteration: b.iteration,
          selection: { split, accuracy: b.accuracy },
        };
  return { selected, final };
}

/**
 * Publishes one set under `prefix`: `<file>.safetensors` (images NHWC float32, int64 labels and the learned lr,
 * readable by PyTorch's safetensors; metadata labels the set) and one PNG grid per class. Results are derived from
 * the state deterministically, so a retried publish overwrites with the same bytes.
 */
export async function publishSet(
  store: ArtifactStore,
  prefix: string,
  set: SetToPublish,
  manifest: DatasetManifest,
  file: SetFile,
): Promise<string[]> {
  const [n] = set.imageShape;
  const names = SET_FILES[file];
  const tensors = encodeSafetensors(
    {
      images: { dtype: 'F32', shape: set.imageShape, data: set.images },
      labels: { dtype: 'I64', shape: [n], data: Array.from(set.labels) },
      lr: { dtype: 'F32', shape: [], data: Float32Array.of(set.lr) },
    },
    {
      layout: 'NHWC',
      set: set.kind,
      iteration: String(set.iteration),
      ...(set.selection
        ? { selectedOn: set.selection.split, selectionAccuracy: String(set.selection.accuracy) }
        : {}),
      dataset: manifest.name,
      classNames: JSON.stringify(manifest.classNames),
    },
  );
  const keys = [`${prefix}/${names.tensors}`];
  await store.put(keys[0]!, tensors);
  for (let c = 0; c < manifest.numClasses; c++) {
    const rows = [...set.labels.keys()].filter((i) => set.labels[i] === c);
    const key = `${prefix}/${names.pngPrefix}${String(c).padStart(2, '0')}.png`;
    await store.put(key, classGridPng(set.images, set.imageShape, rows, manifest.preprocess.normalisation));
    keys.push(key);
  }
  return keys;
}

/**
 * Publishes a finished distillation: `synthetic.safetensors` + `class-XX.png` hold the selected set (or the final
 * one when the run had no evaluation point, labelled so), `synthetic-final.safetensors` + `final-class-XX.png` the
 * final iterate.
 */
export async function publishStageSets(
  store: ArtifactStore,
  prefix: string,
  state: DistillState,
  manifest: DatasetManifest,
  split: SelectionSplit,
): Promise<string[]> {
  const { selected, final } = stageSets(state, split);
  return [
    ...(await publishSet(store, prefix, selected ?? final, manifest, 'published')),
    ...(await publishSet(store, prefix, final, manifest, 'final')),
  ];
}

/** Publishes the final iterate of `state` as the stage's set (kept for callers that publish one set). */
export async function publishSyntheticSet(
  store: ArtifactStore,
  prefix: string,
  state: DistillState,
  manifest: DatasetManifest,
): Promise<string[]> {
  return publishSet(store, prefix, stageSets(state, 'val').final, manifest, 'published');
}

/** JSON-lines metrics: the first line records what ran (config, versions), then one line per event. */
export function metricsHeader(config: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ kind: 'run', config, node: process.version, ...extra });
}
