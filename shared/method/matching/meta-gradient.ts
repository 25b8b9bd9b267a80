import { tf } from '../../engine/tf.ts';
import type { Scalar, Tensor, Tensor1D, Tensor4D } from '../../engine/tf.ts';
import { convNetForward } from '../../engine/convnet/forward.ts';
import { convNetLayout } from '../../engine/convnet/layout.ts';
import { crossEntropy } from '../../engine/ops/cross-entropy.ts';
import { applyAugDraw } from '../../engine/dsa/apply.ts';
import { paramMatchingLoss } from './param-loss.ts';
import { shapeLoss } from './shape-loss.ts';
import type { InnerStep, MatchingProblem, MatchingTerms } from './problem.ts';

/** The student's flat parameters before each step and after the last: N + 1 vectors. */
export interface StudentTrajectory {
  params: Tensor1D[];
}

export interface MetaGradient {
  paramLoss: number;
  shapeLoss: number;
  loss: number;
  /** True when the mask selects nothing, so the parameter loss is defined as 0 (see paramMatchingLoss). */
  maskEmpty: boolean;
  /** dL/d images, NHWC, same shape as the synthetic images. The caller owns it. */
  gradImages: Tensor4D;
  /** dL/d lr. */
  gradLr: number;
}

/** The student's mean cross-entropy at one step: gather the step's images, augment, forward. */
export function innerLoss(
  problem: MatchingProblem,
  theta: Tensor1D,
  images: Tensor4D,
  step: InnerStep,
): Scalar {
  return tf.tidy(() => {
    const idx = tf.tensor1d(step.indices, 'int32');
    const x = applyAugDraw(tf.gather(images, idx) as Tensor4D, step.draw);
    return crossEntropy(convNetForward(theta, x, problem.cfg), tf.gather(problem.labels, idx) as Tensor1D);
  });
}

const studentGradient = (
  problem: MatchingProblem,
  theta: Tensor1D,
  images: Tensor4D,
  step: InnerStep,
): Tensor1D => tf.grad((t: Tensor) => innerLoss(problem, t as Tensor1D, images, step))(theta) as Tensor1D;

/**
 * Unrolls the student from the expert's start point through the given steps (method.md A.4 step 5) without
 * recording a tape: theta_{k+1} = theta_k - lr * grad(loss_k). The caller owns the returned tensors.
 * Async like everything that reads values back: WebGPU in Node has no synchronous read-back.
 */
export async function unrollStudent(problem: MatchingProblem): Promise<StudentTrajectory> {
  await validateProblem(problem);
  const params: Tensor1D[] = [tf.clone(problem.expert.start)];
  for (const step of problem.steps) {
    const theta = params[params.length - 1]!;
    params.push(
      tf.tidy(() => tf.sub(theta, tf.mul(studentGradient(problem, theta, problem.images, step), problem.lr))),
    );
  }
  return { params };
}

/**
 * Exact gradients of L = L_param + L_shape w.r.t. the synthetic images and the lr (method.md A.4-A.6),
 * by reverse-mode through the unrolled student one step at a time: each step's graph is rebuilt from its
 * stored parameters, so memory holds the N + 1 parameter vectors and one step's graph, whatever N is.
 *
 * For theta_{k+1} = theta_k - lr g_k(theta_k, X) and adjoint a = dL/dtheta_{k+1}, with s = <g_k, a>:
 *   dL/dtheta_k = a - lr ds/dtheta_k,   dL/dX += -lr ds/dX,   dL/dlr += -s.
 */
export async function matchingGradient(
  problem: MatchingProblem,
  trajectory: StudentTrajectory,
  terms: MatchingTerms,
): Promise<MetaGradient> {
  const n = problem.steps.length;
  const { start, mid, target } = problem.expert;
  const P = start.shape[0];
  if (trajectory.params.length !== n + 1) {
    throw new Error(
      `matchingGradient: expected a trajectory of ${n + 1} parameter vectors, got ${trajectory.params.length}`,
    );
  }
  if (terms.mask.shape[0] !== P) {
    throw new Error(`matchingGradient: expected a mask of length ${P}, got [${terms.mask.shape}]`);
  }
  if (!Number.isFinite(terms.lambda) || terms.lambda < 0) {
    throw new Error(`matchingGradient: expected a finite lambda >= 0, got ${terms.lambda}`);
  }
  const midIndex = Math.floor(n / 2);
  const studentMid = trajectory.params[midIndex]!;
  const studentFinal = trajectory.params[n]!;

  const outer = tf.tidy(() => {
    const param = (f: Tensor1D): Scalar => paramMatchingLoss(f, start, target, terms.mask);
    const shape = (m: Tensor1D, f: Tensor1D): Scalar =>
      shapeLoss([start, m, f], [start, mid, target], terms.lambda);
    // With the shape term off, the student's mid point does not enter the loss (and tfjs refuses a
    // gradient w.r.t. an unused input), so its direct gradient is zero.
    const [dMid, dFinal] =
      terms.lambda > 0
        ? tf.grads(
            (m: Tensor, f: Tensor) =>
              tf.add(param(f as Tensor1D), shape(m as Tensor1D, f as Tensor1D)) as Scalar,
          )([studentMid, studentFinal])
        : [tf.zerosLike(studentMid), tf.grad((f: Tensor) => param(f as Tensor1D))(studentFinal)];
    const denominator = tf.sum(tf.mul(terms.mask, tf.squaredDifference(start, target)));
    const shapeValue = terms.lambda > 0 ? shape(studentMid, studentFinal) : tf.scalar(0);
    return {
      dMid: dMid as Tensor1D,
      dFinal: dFinal as Tensor1D,
      values: tf.stack([param(studentFinal), shapeValue, denominator]),
    };
  });
  const [paramValue, shapeValue, denominator] = Array.from(await outer.values.data());
  outer.values.dispose();

  let adjoint: Tensor1D = midIndex === n ? tf.add(outer.dFinal, outer.dMid) : tf.clone(outer.dFinal);
  outer.dFinal.dispose();
  let gradImages = tf.zerosLike(problem.images) as Tensor4D;
  let gradLr: Scalar = tf.scalar(0);

  for (let k = n - 1; k >= 0; k--) {
    const a = adjoint;
    const step = problem.steps[k]!;
    const next = tf.tidy(() => {
      const s = (theta: Tensor, images: Tensor): Scalar =>
        tf.sum(tf.mul(studentGradient(problem, theta as Tensor1D, images as Tensor4D, step), a)) as Scalar;
      const { value, grads } = tf.valueAndGrads(s)([trajectory.params[k]!, problem.images]);
      let adj = tf.sub(a, tf.mul(grads[0]!, problem.lr)) as Tensor1D;
      if (k === midIndex) adj = tf.add(adj, outer.dMid);
      return {
        adjoint: adj,
        gradImages: tf.sub(gradImages, tf.mul(grads[1]!, problem.lr)) as Tensor4D,
        gradLr: tf.sub(gradLr, value) as Scalar,
      };
    });
    a.dispose();
    gradImages.dispose();
    gradLr.dispose();
    ({ adjoint, gradImages, gradLr } = next);
  }
  adjoint.dispose();
  outer.dMid.dispose();
  const gradLrValue = (await gradLr.data())[0]!;
  gradLr.dispose();
  return {
    paramLoss: paramValue!,
    shapeLoss: shapeValue!,
    loss: paramValue! + shapeValue!,
    maskEmpty: !(denominator! > 0),
    gradImages,
    gradLr: gradLrValue,
  };
}

/** unrollStudent + matchingGradient, disposing the trajectory. */
export async function metaGradient(problem: MatchingProblem, terms: MatchingTerms): Promise<MetaGradient> {
  const trajectory = await unrollStudent(problem);
  try {
    return await matchingGradient(problem, trajectory, terms);
  } finally {
    trajectory.params.forEach((t) => t.dispose());
  }
}

/** Shapes, ranges and finiteness of a problem; errors name the field, what was expected and what was got. */
export async function validateProblem(problem: MatchingProblem): Promise<void> {
  const { cfg, images, labels, expert, lr, steps } = problem;
  const P = convNetLayout(cfg).size;
  const [n, h, w, c] = images.shape;
  if (images.rank !== 4 || h !== cfg.imageSize || w !== cfg.imageSize || c !== cfg.channels) {
    throw new Error(
      `meta-gradient: expected images [n, ${cfg.imageSize}, ${cfg.imageSize}, ${cfg.channels}] (NHWC), got [${images.shape}]`,
    );
  }
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new Error(`meta-gradient: expected ${n} labels (one per image), got shape [${labels.shape}]`);
  }
  for (const [name, t] of Object.entries(expert)) {
    if (t.rank !== 1 || t.shape[0] !== P) {
      throw new Error(
        `meta-gradient: expected expert ${name} to be a flat vector of ${P} parameters, got [${t.shape}]`,
      );
    }
  }
  if (!Number.isFinite(lr)) throw new Error(`meta-gradient: expected a finite lr, got ${lr}`);
  if (steps.length < 1) throw new Error('meta-gradient: expected at least one unrolled step, got 0');
  steps.forEach((step, k) => {
    if (step.indices.length === 0 || step.indices.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) {
      throw new Error(
        `meta-gradient: step ${k} expected non-empty image indices in [0, ${n}), got [${step.indices.slice(0, 8)}${step.indices.length > 8 ? ', ...' : ''}]`,
      );
    }
  });
  const labelValues = await labels.data();
  const badLabel = labelValues.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= cfg.numClasses);
  if (badLabel >= 0) {
    throw new Error(
      `meta-gradient: expected labels in [0, ${cfg.numClasses}), got ${labelValues[badLabel]} at index ${badLabel}`,
    );
  }
  // x * 0 is NaN exactly when x is NaN or infinite: one scalar read instead of a full copy.
  const finiteCheck = tf.tidy(() =>
    tf.stack([tf.sum(tf.mul(images, 0)), ...Object.values(expert).map((t) => tf.sum(tf.mul(t, 0)))]),
  );
  const checks = await finiteCheck.data();
  finiteCheck.dispose();
  const names = ['images', ...Object.keys(expert).map((k) => `expert ${k}`)];
  checks.forEach((v, i) => {
    if (Number.isNaN(v)) throw new Error(`meta-gradient: ${names[i]} contain NaN or Inf values`);
  });
}
