/**
 * The distillation as a chain of slices: by default one slice per easy-to-complex stage, the iterations
 * over which the mask threshold stays put (tau grows by `growingFactor` every `growEvery` iterations), so
 * the run's history shows the stages as steps. Pure code, shared by the workflow and its tests.
 */
import type { RunConfig } from '../shared/config/schema.ts';

export interface Slice {
  /** 1-based easy-to-complex stage the slice belongs to. */
  stage: number;
  /** First iteration of the slice and the iteration it stops at (exclusive). */
  from: number;
  until: number;
}

/** The loop runs iterations 0..iterations inclusive; `sliceIterations` 0 means one slice per stage. */
export function distillSlices(cfg: RunConfig, sliceIterations: number): Slice[] {
  const total = cfg.distill.iterations + 1;
  const growEvery = cfg.distill.mask.growEvery;
  const step = sliceIterations > 0 ? sliceIterations : growEvery;
  const slices: Slice[] = [];
  for (let from = 0; from < total;) {
    const stageEnd = (Math.floor(from / growEvery) + 1) * growEvery;
    const until = Math.min(total, from + step, sliceIterations > 0 ? Infinity : stageEnd);
    slices.push({ stage: Math.floor(from / growEvery) + 1, from, until });
    from = until;
  }
  return slices;
}

/** Number of easy-to-complex stages the run passes through. */
export const stageCount = (cfg: RunConfig): number =>
  Math.floor(cfg.distill.iterations / cfg.distill.mask.growEvery) + 1;
