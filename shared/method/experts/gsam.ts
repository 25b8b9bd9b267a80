/**
 * One expert (teacher) training step (method.md B): GSAM (Zhuang et al., ICLR 2022, as wrapped by FTD and
 * `buffer/gsam/gsam.py` of the reference) around plain SGD (momentum 0, weight decay 0), or plain SGD alone.
 *
 * The maths is split into two pure functions over flat vectors (`gsamPerturbation`, `gsamDirection`), so it can be
 * tested without a network; `gsamStep` wires them to the ConvNet loss. Every function here is pure: tensors in,
 * new tensors out, nothing kept between calls (GSAM's state lives only inside one step; the reference's
 * `ProportionScheduler` is constant because rho_max = rho_min).
 */
import { tf } from '../../engine/tf.ts';
import type { Scalar, Tensor1D, Tensor4D } from '../../engine/tf.ts';
import { convNetForward } from '../../engine/convnet/forward.ts';
import { convNetLayout, type ConvNetConfig } from '../../engine/convnet/layout.ts';
import { crossEntropy } from '../../engine/ops/cross-entropy.ts';

/** The reference's `perturb_eps`: guards every division by a norm. */
export const GSAM_EPS = 1e-12;

export interface GsamOptions {
  /** Perturbation radius rho (reference: 0.01, constant). */
  rho: number;
  /** Weight of the removed orthogonal component (reference `gsam_alpha`: 0.3). */
  alpha: number;
  /** ASAM-style element-wise scaling by |w| (reference: true). */
  adaptive: boolean;
  /** Defaults to GSAM_EPS. */
  eps?: number;
}

export interface GsamStepOptions extends Omit<GsamOptions, 'eps'> {
  lr: number;
}

/** One already augmented minibatch: NHWC float32 images and integer class labels. */
export interface Batch {
  images: Tensor4D;
  labels: Tensor1D;
}

/** What one step computed, for the caller's metrics. The caller owns every tensor. */
export interface StepResult {
  /** The parameters after the step. */
  params: Tensor1D;
  /** Mean cross-entropy at the step's starting point (the value the reference prints). */
  loss: Scalar;
  /** Correct predictions at the starting point (the reference's train accuracy numerator). */
  correct: Scalar;
  /** The direction that was applied, `params = theta - lr * direction` (GSAM's g-hat, or g for SGD). */
  direction: Tensor1D;
  /** Mean cross-entropy at the perturbed point w + e; null for plain SGD. */
  perturbedLoss: Scalar | null;
}

/**
 * GSAM's ascent step (method.md B steps 2-3): e = g * rho / (n + eps), times w^2 when adaptive, with
 * n = ||w * g|| (adaptive) or ||g||, one norm over all parameters jointly.
 */
export function gsamPerturbation(g: Tensor1D, w: Tensor1D, opts: GsamOptions): Tensor1D {
  const eps = opts.eps ?? GSAM_EPS;
  return tf.tidy(() => {
    const norm = tf.norm(opts.adaptive ? tf.mul(tf.abs(w), g) : g);
    const e = tf.mul(g, tf.div(opts.rho, tf.add(norm, eps)));
    return (opts.adaptive ? tf.mul(e, tf.square(w)) : e) as Tensor1D;
  });
}

/**
 * GSAM's descent direction (method.md B step 5) from the gradient g at w and g' at w + e:
 * c = <g, g'> / (||g'|| ||g|| + eps), vertical = g - c ||g|| g' / (||g'|| + eps), result g' - alpha * vertical.
 */
export function gsamDirection(
  g: Tensor1D,
  gPerturbed: Tensor1D,
  opts: Pick<GsamOptions, 'alpha' | 'eps'>,
): Tensor1D {
  const eps = opts.eps ?? GSAM_EPS;
  return tf.tidy(() => {
    const normOld = tf.norm(g);
    const normNew = tf.norm(gPerturbed);
    const cosine = tf.div(tf.sum(tf.mul(g, gPerturbed)), tf.add(tf.mul(normNew, normOld), eps));
    const vertical = tf.sub(g, tf.div(tf.mul(tf.mul(cosine, normOld), gPerturbed), tf.add(normNew, eps)));
    return tf.sub(gPerturbed, tf.mul(vertical, opts.alpha)) as Tensor1D;
  });
}

/** Mean cross-entropy of the ConvNet at theta, with its gradient and the logits' correct count. */
function lossAndGradient(
  theta: Tensor1D,
  batch: Batch,
  cfg: ConvNetConfig,
): { loss: Scalar; grad: Tensor1D; correct: Scalar } {
  let kept: Scalar | undefined;
  const { value, grad } = tf.valueAndGrad((t: Tensor1D) => {
    const logits = convNetForward(t, batch.images, cfg);
    // valueAndGrad runs f inside its own tidy, so the count must be kept to get out; it is re-owned below.
    kept = tf.keep(
      tf.tidy(
        () =>
          tf.sum(
            tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(batch.labels, 'int32')), 'float32'),
          ) as Scalar,
      ),
    );
    return crossEntropy(logits, batch.labels) as Scalar;
  })(theta);
  // A kept tensor escapes every enclosing tidy; a clone in the caller's scope does not.
  const correct = tf.clone(kept!);
  kept!.dispose();
  return { loss: value, grad: grad as Tensor1D, correct };
}

function validateStep(theta: Tensor1D, batch: Batch, cfg: ConvNetConfig, lr: number, what: string): void {
  const P = convNetLayout(cfg).size;
  if (theta.rank !== 1 || theta.shape[0] !== P) {
    throw new Error(`${what}: expected a flat parameter vector of ${P}, got shape [${theta.shape}]`);
  }
  if (batch.labels.rank !== 1 || batch.labels.shape[0] !== batch.images.shape[0]) {
    throw new Error(
      `${what}: expected one label per image (${batch.images.shape[0]}), got shape [${batch.labels.shape}]`,
    );
  }
  if (!Number.isFinite(lr) || lr <= 0) throw new Error(`${what}: expected a finite lr > 0, got ${lr}`);
}

/**
 * One GSAM step on an already augmented batch (method.md B steps 1-6), with diagnostics:
 * g = dL(w); e = gsamPerturbation; g' = dL(w + e); d = gsamDirection; w <- ((w + e) - e) - lr d.
 * The restore subtracts e from the perturbed point, as the reference's in-place `p.data.sub_(e_w)` does, which in
 * float32 is not always bit-identical to w.
 */
export function gsamStepDetailed(
  theta: Tensor1D,
  batch: Batch,
  cfg: ConvNetConfig,
  opts: GsamStepOptions,
): StepResult {
  validateStep(theta, batch, cfg, opts.lr, 'gsamStep');
  if (!Number.isFinite(opts.rho) || opts.rho < 0)
    throw new Error(`gsamStep: expected a finite rho >= 0, got ${opts.rho}`);
  if (!Number.isFinite(opts.alpha)) throw new Error(`gsamStep: expected a finite alpha, got ${opts.alpha}`);
  const first = lossAndGradient(theta, batch, cfg);
  const out = tf.tidy(() => {
    const e = gsamPerturbation(first.grad, theta, opts);
    const perturbed = tf.add(theta, e) as Tensor1D;
    const second = lossAndGradient(perturbed, batch, cfg);
    second.correct.dispose();
    const direction = gsamDirection(first.grad, second.grad, opts);
    const params = tf.sub(tf.sub(perturbed, e), tf.mul(direction, opts.lr)) as Tensor1D;
    return { params, direction, perturbedLoss: second.loss };
  });
  first.grad.dispose();
  return { ...out, loss: first.loss, correct: first.correct };
}

/** One GSAM step (method.md B): the new parameter vector. The caller owns it. */
export function gsamStep(theta: Tensor1D, batch: Batch, cfg: ConvNetConfig, opts: GsamStepOptions): Tensor1D {
  const r = gsamStepDetailed(theta, batch, cfg, opts);
  tf.dispose([r.loss, r.correct, r.direction, r.perturbedLoss!]);
  return r.params;
}

/** One plain SGD step (momentum 0, weight decay 0): theta - lr * dL(theta), with diagnostics. */
export function sgdStepDetailed(theta: Tensor1D, batch: Batch, cfg: ConvNetConfig, lr: number): StepResult {
  validateStep(theta, batch, cfg, lr, 'sgdStep');
  const { loss, grad, correct } = lossAndGradient(theta, batch, cfg);
  const params = tf.tidy(() => tf.sub(theta, tf.mul(grad, lr)) as Tensor1D);
  return { params, loss, correct, direction: grad, perturbedLoss: null };
}

/** The expert optimiser of an ExpertsConfig: GSAM around SGD, or plain SGD when `gsam` is null. */
export function expertStep(
  theta: Tensor1D,
  batch: Batch,
  cfg: ConvNetConfig,
  opts: { lr: number; gsam: Omit<GsamOptions, 'eps'> | null },
): StepResult {
  return opts.gsam === null
    ? sgdStepDetailed(theta, batch, cfg, opts.lr)
    : gsamStepDetailed(theta, batch, cfg, { lr: opts.lr, ...opts.gsam });
}
