import type { DatasetManifest } from '../../data/types.ts';
import { encodeSafetensors } from '../../storage/safetensors.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import type { DistillState } from '../distill/state.ts';
import { classGridPng } from './png-grid.ts';

/**
 * Publishes a distilled set under `prefix`: `synthetic.safetensors` (images NHWC float32, int64 labels and
 * the learned lr, readable by PyTorch's safetensors), and one PNG grid per class. Results are derived from
 * the state deterministically, so a retried publish overwrites with the same bytes.
 */
export async function publishSyntheticSet(
  store: ArtifactStore,
  prefix: string,
  state: DistillState,
  manifest: DatasetManifest,
): Promise<string[]> {
  const [n] = state.imageShape;
  const keys: string[] = [];
  const tensors = encodeSafetensors(
    {
      images: { dtype: 'F32', shape: state.imageShape, data: state.images },
      labels: { dtype: 'I64', shape: [n], data: Array.from(state.labels) },
      lr: { dtype: 'F32', shape: [], data: Float32Array.of(state.lr) },
    },
    {
      layout: 'NHWC',
      iteration: String(state.iteration),
      dataset: manifest.name,
      classNames: JSON.stringify(manifest.classNames),
    },
  );
  keys.push(`${prefix}/synthetic.safetensors`);
  await store.put(keys[0]!, tensors);
  for (let c = 0; c < manifest.numClasses; c++) {
    const rows = [...state.labels.keys()].filter((i) => state.labels[i] === c);
    const key = `${prefix}/class-${String(c).padStart(2, '0')}.png`;
    await store.put(
      key,
      classGridPng(state.images, state.imageShape, rows, manifest.preprocess.normalisation),
    );
    keys.push(key);
  }
  return keys;
}

/** JSON-lines metrics: the first line records what ran (config, versions), then one line per event. */
export function metricsHeader(config: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ kind: 'run', config, node: process.version, ...extra });
}
