import type { RngState } from '../../engine/random.ts';

/** Which expert trajectory the next iteration matches: a shuffled order, consumed in turn, reshuffled per cycle. */
export interface ExpertCursor {
  order: number[];
  position: number;
}

/**
 * Everything a distillation run needs to continue bit-identically: the synthetic set, the lr, both
 * momentum buffers, the mask, the iteration, the expert cursor and the random generator (style.md 5:
 * training state is one value).
 */
export interface DistillState {
  /** The next iteration to run (0-based; the loop runs 0..iterations inclusive). */
  iteration: number;
  /** Synthetic images, NHWC float32, class-major. */
  images: Float32Array;
  imageShape: [n: number, height: number, width: number, channels: number];
  labels: Int32Array;
  lr: number;
  imagesMomentum: Float32Array | null;
  lrMomentum: number | null;
  /** Easy-to-complex mask v, one 0/1 byte per parameter coordinate. */
  mask: Uint8Array;
  expertCursor: ExpertCursor;
  rng: RngState;
  /**
   * The selected set: the synthetic set at the evaluation point with the highest accuracy so far on the run's
   * selection split (evaluate.selection), first of equals winning, like the reference's `*_best.pt`. Null
   * until the first in-run evaluation. Labels are the state's own (they never change).
   */
  best: SelectedSet | null;
}

/** The synthetic set at one evaluation point: images (same shape as the state's) and lr before that update. */
export interface SelectedSet {
  /** The iteration evaluated (the images are those before that iteration's update). */
  iteration: number;
  accuracy: number;
  lr: number;
  images: Float32Array;
}

/** One iteration's figures, for progress events and metrics files. */
export interface IterationMetrics {
  iteration: number;
  expert: number;
  startEpoch: number;
  paramLoss: number;
  shapeLoss: number;
  loss: number;
  maskEmpty: boolean;
  utilization: number;
  threshold: number;
  lr: number;
  gradLr: number;
  ms: number;
}
