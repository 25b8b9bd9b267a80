import type { ImageSet } from '../../data/types.ts';
import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import { convNetLayout } from '../../engine/convnet/layout.ts';
import type { DistillConfig } from '../../config/distill.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import { restoreCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { initialDistillState } from './init.ts';
import { distillIteration, type ExpertSource } from './iteration.ts';
import type { DistillState, IterationMetrics } from './state.ts';

export interface DistillHooks {
  onIteration?(metrics: IterationMetrics): void | Promise<void>;
  /** In-run evaluation of the current synthetic set; returns the accuracy used for selection. */
  evaluate?(state: DistillState): Promise<number>;
  onCheckpoint?(key: string, state: DistillState): void | Promise<void>;
  signal?: AbortSignal;
  /**
   * Stop once `state.iteration` reaches this (with a checkpoint there): one slice of a longer run, as the
   * Temporal pipeline runs it. The next call continues from that checkpoint; the result is the same.
   */
  until?: number;
  /**
   * Asked after every iteration: `checkpoint` writes a checkpoint there (a time-based interval), `stop` also
   * ends this call (a worker draining before shutdown). The result is the same as an uninterrupted run.
   */
  control?(state: DistillState): { checkpoint?: boolean; stop?: boolean } | undefined;
}

export interface DistillJob {
  /** Storage prefix of this stage, e.g. `<runId>/distill/<stage>`. */
  prefix: string;
  cfg: ConvNetConfig;
  distill: DistillConfig;
  train: ImageSet;
  numClasses: number;
  experts: ExpertSource & { ids: number[] };
}

/**
 * Runs (or continues) a distillation: restore the newest checkpoint if there is one, else build the
 * initial state; iterate 0..iterations inclusive like the reference, evaluating before the update at
 * every evalEvery-th iteration (never at 0) and keeping the winning point's images and lr as `best` (the
 * selected set), checkpointing every checkpointEvery iterations and at the end.
 * Resume is the normal path: calling it again after a crash or abort continues where the last checkpoint
 * left off, bit-identically on the cpu backend.
 */
export async function runDistillation(
  job: DistillJob,
  store: ArtifactStore,
  hooks: DistillHooks = {},
): Promise<DistillState> {
  const { distill } = job;
  let state =
    (await restoreCheckpoint(store, job.prefix)) ??
    initialDistillState(job.train, job.numClasses, {
      ipc: distill.ipc,
      init: distill.init,
      lrTeacher: distill.lrTeacher,
      paramCount: convNetLayout(job.cfg).size,
      maskEnabled: distill.mask.enabled,
      experts: job.experts.ids,
      seed: distill.seed,
    });
  const ctx = { cfg: job.cfg, distill, experts: job.experts };
  const end = Math.min(hooks.until ?? Infinity, distill.iterations + 1);
  while (state.iteration < end) {
    hooks.signal?.throwIfAborted();
    const it = state.iteration;
    if (hooks.evaluate && distill.evalEvery > 0 && it > 0 && it % distill.evalEvery === 0) {
      const accuracy = await hooks.evaluate(state);
      // Strictly greater, like the reference: the first of equal scores stays selected.
      if (state.best === null || accuracy > state.best.accuracy)
        state = { ...state, best: { iteration: it, accuracy, lr: state.lr, images: state.images.slice() } };
    }
    const next = await distillIteration(state, ctx);
    state = next.state;
    await hooks.onIteration?.(next.metrics);
    const asked = hooks.control?.(state) ?? {};
    if (
      state.iteration % distill.checkpointEvery === 0 ||
      state.iteration >= end ||
      asked.checkpoint ||
      asked.stop
    ) {
      const key = await saveCheckpoint(store, job.prefix, state);
      await hooks.onCheckpoint?.(key, state);
    }
    if (asked.stop) break;
    // Let timers, heartbeats and progress output run between tensor-heavy iterations.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return state;
}
