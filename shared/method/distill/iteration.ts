import { tf } from '../../engine/tf.ts';
import type { Tensor4D } from '../../engine/tf.ts';
import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import { sampleAugDraw } from '../../engine/dsa/draws.ts';
import { createRng, permutation } from '../../engine/random.ts';
import type { DistillConfig } from '../../config/distill.ts';
import { syntheticStepBatches } from '../batches.ts';
import { matchingGradient, unrollStudent, type StudentTrajectory } from '../matching/meta-gradient.ts';
import { squaredError } from '../matching/param-loss.ts';
import type { MatchingProblem } from '../matching/problem.ts';
import { maskThreshold, maskUtilization, updateMask } from './mask.ts';
import { sgdMomentum, sgdMomentumScalar } from './sgd.ts';
import type { DistillState, IterationMetrics } from './state.ts';

/** Where expert trajectories come from (storage in production, arrays in tests). */
export interface ExpertSource {
  /** Flat float32 parameters of expert `expert` after each of the given epochs (0 = initialisation). */
  points(expert: number, epochs: number[]): Promise<Float32Array[]>;
}

export interface IterationContext {
  cfg: ConvNetConfig;
  distill: DistillConfig;
  experts: ExpertSource;
}

export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
}

/**
 * One distillation iteration (method.md A.4 steps 2-8) as a pure step from state to state: pick the next
 * expert and a start epoch, unroll the student on augmented synthetic minibatches, admit easy coordinates
 * into the mask with this iteration's errors, take the exact meta-gradient of L_param + L_shape, and
 * update the images and the lr with SGD + momentum. The input state is not modified.
 */
export async function distillIteration(
  state: DistillState,
  ctx: IterationContext,
): Promise<{ state: DistillState; metrics: IterationMetrics }> {
  const t0 = performance.now();
  const { distill } = ctx;
  const rng = createRng(state.rng);
  const [n, h, w, c] = state.imageShape;

  const { order, position } = state.expertCursor;
  const expert = order[position]!;
  const expertCursor =
    position + 1 < order.length
      ? { order, position: position + 1 }
      : { order: permutation(order.length, rng).map((i) => order[i]!), position: 0 };

  const startEpoch = rng.int(distill.minStartEpoch, distill.maxStartEpoch - 1);
  const epochs = [
    startEpoch,
    startEpoch + Math.floor(distill.expertEpochs / 2),
    startEpoch + distill.expertEpochs,
  ];
  const [start, mid, target] = await ctx.experts.points(expert, epochs);

  const steps = syntheticStepBatches(n, distill.batchSyn, distill.synSteps, rng).map((indices) => ({
    indices,
    draw: sampleAugDraw(rng, indices.length, h, w),
  }));

  const problem: MatchingProblem = {
    cfg: ctx.cfg,
    expert: { start: tf.tensor1d(start!), mid: tf.tensor1d(mid!), target: tf.tensor1d(target!) },
    images: tf.tensor4d(state.images, [n, h, w, c]) as Tensor4D,
    labels: tf.tensor1d(state.labels, 'int32'),
    lr: state.lr,
    steps,
  };
  // Every tensor above is released in `finally`, also when the problem is invalid (unrollStudent validates it).
  const trajectory: StudentTrajectory = { params: [] };
  try {
    trajectory.params = (await unrollStudent(problem)).params;
    const threshold = maskThreshold(state.iteration, distill.mask);
    let mask = state.mask;
    if (distill.mask.enabled) {
      const error = tf.tidy(() => squaredError(trajectory.params[steps.length]!, problem.expert.target));
      mask = updateMask(state.mask, (await error.data()) as Float32Array, threshold, distill.mask.recompute);
      error.dispose();
    }
    const maskTensor = tf.tensor1d(Float32Array.from(mask));
    const result = await matchingGradient(problem, trajectory, {
      mask: maskTensor,
      lambda: distill.shape.enabled ? distill.shape.lambda : 0,
    });
    maskTensor.dispose();
    const gradImages = (await result.gradImages.data()) as Float32Array;
    result.gradImages.dispose();

    if (
      !Number.isFinite(result.loss) ||
      !Number.isFinite(result.gradLr) ||
      gradImages.some((v) => !Number.isFinite(v))
    ) {
      throw new NonFiniteError(
        `distill: iteration ${state.iteration} (expert ${expert}, start epoch ${startEpoch}) produced a non-finite loss or gradient ` +
          `(loss ${result.loss}, dL/dlr ${result.gradLr}); the state was not updated. Lower lrImg or lrTeacher?`,
      );
    }
    const images = sgdMomentum(
      state.images,
      gradImages,
      state.imagesMomentum,
      distill.lrImg,
      distill.imageMomentum,
    );
    const lr = sgdMomentumScalar(state.lr, result.gradLr, state.lrMomentum, distill.lrLr, distill.lrMomentum);
    // A finite gradient times a huge lrImg / lrLr can still overflow float32: never hand on (or checkpoint) such a state.
    if (!Number.isFinite(lr.param) || images.param.some((v) => !Number.isFinite(v))) {
      throw new NonFiniteError(
        `distill: iteration ${state.iteration} (expert ${expert}, start epoch ${startEpoch}): the update with lrImg ${distill.lrImg} ` +
          `and lrLr ${distill.lrLr} produced non-finite images or lr (lr ${lr.param}); the state was not updated. Lower lrImg or lrLr?`,
      );
    }
    return {
      state: {
        ...state,
        iteration: state.iteration + 1,
        images: images.param,
        imagesMomentum: images.buf,
        lr: lr.param,
        lrMomentum: lr.buf,
        mask,
        expertCursor,
        rng: rng.state(),
      },
      metrics: {
        iteration: state.iteration,
        expert,
        startEpoch,
        paramLoss: result.paramLoss,
        shapeLoss: result.shapeLoss,
        loss: result.loss,
        maskEmpty: result.maskEmpty,
        utilization: maskUtilization(mask),
        threshold,
        lr: state.lr,
        gradLr: result.gradLr,
        ms: performance.now() - t0,
      },
    };
  } finally {
    tf.dispose([...trajectory.params, problem.images, problem.labels, ...Object.values(problem.expert)]);
  }
}
