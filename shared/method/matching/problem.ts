import type { Tensor1D, Tensor4D } from '../../engine/tf.ts';
import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import type { AugDraw } from '../../engine/dsa/draws.ts';

/** Expert (teacher) flat parameters at the start epoch, the middle epoch and start + expert_epochs. */
export interface ExpertPoints {
  start: Tensor1D;
  mid: Tensor1D;
  target: Tensor1D;
}

/** One unrolled student step: which synthetic images it trains on and the DSA draw applied to them. */
export interface InnerStep {
  indices: number[];
  draw: AugDraw;
}

/** Everything that fixes one distillation iteration's unrolled student (method.md A.4 step 5). */
export interface MatchingProblem {
  cfg: ConvNetConfig;
  expert: ExpertPoints;
  /** Synthetic images, NHWC float32. */
  images: Tensor4D;
  /** Hard integer labels, one per synthetic image. */
  labels: Tensor1D;
  /** The learnable student learning rate (syn_lr). */
  lr: number;
  steps: InnerStep[];
}

/** How the end point and the shape are matched. */
export interface MatchingTerms {
  /** Easy-to-complex mask v (0/1 floats, length P); all ones reproduces MTT's loss. */
  mask: Tensor1D;
  /** Weight of the shape-wise potential; 0 switches it off. */
  lambda: number;
}
