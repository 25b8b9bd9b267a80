import { tf } from '../../engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../engine/tf.ts';
import { convNetLayout } from '../../engine/convnet/layout.ts';
import type { RunConfig } from '../../config/index.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import { listCompleteExperts, loadExpertPoints } from '../experts/trajectory.ts';
import { runDistillation, type DistillHooks } from '../distill/run.ts';
import type { DistillState, IterationMetrics } from '../distill/state.ts';
import { deriveSeed } from '../../engine/random.ts';
import { evaluateSynthetic } from '../evaluate/protocol.ts';
import { assertSelectable } from '../evaluate/selection.ts';
import type { RunData } from './data.ts';
import { distillPrefix, resultsPrefix } from './keys.ts';
import { metricsHeader, publishStageSets } from './outputs.ts';

export interface DistillStageHooks {
  onIteration?(metrics: IterationMetrics): void | Promise<void>;
  onEvaluation?(iteration: number, accuracy: number): void | Promise<void>;
  signal?: AbortSignal;
  /** Run only up to this iteration (one slice); the set is published only once the run is complete. */
  until?: number;
  /** See DistillHooks.control: extra checkpoints and an early stop at an iteration boundary. */
  control?: DistillHooks['control'];
  onCheckpoint?(key: string, state: DistillState): void | Promise<void>;
}

export interface DistillStageResult {
  state: DistillState;
  /** False when `until` stopped the run early (a slice): nothing is published yet. */
  complete: boolean;
  resultKeys: string[];
  metricsKey: string;
  /** Which set `synthetic.safetensors` holds: the selected one, or the final one when nothing was evaluated. */
  published?: 'selected' | 'final';
}

/** The seed of the in-run evaluation at `iteration`: each point is judged by its own fresh network. */
export const inRunEvalSeed = (evalSeed: number, iteration: number): number =>
  deriveSeed(evalSeed, 'in-run', iteration);

/**
 * Distils a run's synthetic set from its stored experts (resuming from the stage's newest checkpoint), keeps
 * a JSON-lines metrics file in step with the checkpoints, and publishes under results/ the selected set
 * (`synthetic.safetensors`) and the final iterate (`synthetic-final.safetensors`), each labelled.
 * In-run evaluations (every evalEvery iterations, one network seeded per iteration, on the configured
 * selection split) pick the selected set like the reference's eval points; the selection split must exist
 * (no fallback from val to test).
 */
export async function distillStage(
  cfg: RunConfig,
  data: RunData,
  store: ArtifactStore,
  runId: string,
  stage: string,
  hooks: DistillStageHooks = {},
): Promise<DistillStageResult> {
  const experts = await listCompleteExperts(store, runId);
  if (experts.length === 0)
    throw new Error(
      `distill: run '${runId}' has no complete experts in ${store.location} (run 'hoptm experts' first)`,
    );
  const P = convNetLayout(data.model).size;
  const prefix = distillPrefix(runId, stage);
  const metricsKey = `${resultsPrefix(runId, stage)}/metrics.jsonl`;
  const lines = [
    metricsHeader(cfg, { dataset: data.dataset.manifest, experts: experts.map((e) => e.expert) }),
  ];
  if (await store.exists(metricsKey)) {
    // A resumed run keeps the earlier lines; those past the checkpoint are recomputed identically.
    lines.push(
      ...new TextDecoder()
        .decode(await store.get(metricsKey))
        .trim()
        .split('\n')
        .slice(1),
    );
  }
  const { dataset } = data;
  assertSelectable(cfg.evaluate.selection, dataset);
  const selection = cfg.evaluate.selection === 'val' ? dataset.val! : dataset.test;

  const distillHooks: DistillHooks = {
    signal: hooks.signal,
    until: hooks.until,
    control: hooks.control,
    onIteration: async (m) => {
      lines.push(JSON.stringify({ kind: 'iteration', ...m }));
      await hooks.onIteration?.(m);
    },
    onCheckpoint: async (key, state) => {
      const kept = lines.filter(
        (l, i) => i === 0 || (JSON.parse(l) as { iteration: number }).iteration < state.iteration,
      );
      await store.put(metricsKey, new TextEncoder().encode(`${kept.join('\n')}\n`));
      await hooks.onCheckpoint?.(key, state);
    },
    evaluate:
      cfg.distill.evalEvery > 0
        ? async (state) => {
            const images = tf.tensor4d(state.images, state.imageShape) as Tensor4D;
            const labels = tf.tensor1d(state.labels, 'int32') as Tensor1D;
            const seed = inRunEvalSeed(cfg.evaluate.seed, state.iteration);
            try {
              const r = await evaluateSynthetic(
                { images, labels, lr: state.lr },
                { test: selection },
                data.model,
                { ...cfg.evaluate, runs: 1, seed },
                { signal: hooks.signal },
              );
              lines.push(
                JSON.stringify({
                  kind: 'evaluation',
                  iteration: state.iteration,
                  split: cfg.evaluate.selection,
                  accuracy: r.mean,
                  seed,
                }),
              );
              await hooks.onEvaluation?.(state.iteration, r.mean);
              return r.mean;
            } finally {
              tf.dispose([images, labels]);
            }
          }
        : undefined,
  };

  const state = await runDistillation(
    {
      prefix,
      cfg: data.model,
      distill: cfg.distill,
      train: dataset.train,
      numClasses: dataset.manifest.numClasses,
      experts: {
        ids: experts.map((e) => e.expert),
        points: (k, epochs) => loadExpertPoints(store, runId, k, epochs, { parameters: P }),
      },
    },
    store,
    distillHooks,
  );
  const complete = state.iteration > cfg.distill.iterations;
  const resultKeys = complete
    ? await publishStageSets(
        store,
        resultsPrefix(runId, stage),
        state,
        dataset.manifest,
        cfg.evaluate.selection,
      )
    : [];
  const published = state.best === null ? 'final' : 'selected';
  return { state, resultKeys, metricsKey, complete, ...(complete ? { published } : {}) };
}
