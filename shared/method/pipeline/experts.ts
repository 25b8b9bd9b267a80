import { tf } from '../../engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../engine/tf.ts';
import type { RunConfig } from '../../config/index.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import {
  expertLastEpoch,
  trainExpert,
  type TrainExpertHooks,
  type TrainExpertResult,
} from '../experts/train-expert.ts';
import type { RunData } from './data.ts';

export interface ExpertsHooks {
  onExpert?(expert: number, result: TrainExpertResult): void | Promise<void>;
  expertHooks?(expert: number): TrainExpertHooks;
}

/**
 * Trains (or finishes) every expert of a run in order; finished experts are skipped, an interrupted one
 * resumes from its last stored epoch. In the Temporal pipeline each expert is its own activity instead.
 */
export async function trainExperts(
  cfg: RunConfig,
  data: RunData,
  store: ArtifactStore,
  runId: string,
  hooks: ExpertsHooks = {},
): Promise<TrainExpertResult[]> {
  const { train } = data.dataset;
  const images = tf.tensor4d(train.images, [train.n, train.height, train.width, train.channels]) as Tensor4D;
  const labels = tf.tensor1d(train.labels, 'int32') as Tensor1D;
  try {
    const results: TrainExpertResult[] = [];
    for (let k = 0; k < cfg.experts.count; k++) {
      const result = await trainExpert(
        {
          runId,
          expert: k,
          cfg: data.model,
          experts: cfg.experts,
          lastEpoch: expertLastEpoch(cfg),
          train: { images, labels },
          dataDigest: data.dataset.manifest.contentHash,
        },
        { store },
        hooks.expertHooks?.(k),
      );
      results.push(result);
      await hooks.onExpert?.(k, result);
    }
    return results;
  } finally {
    tf.dispose([images, labels]);
  }
}
