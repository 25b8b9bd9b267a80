import { tf } from '../../shared/engine/tf.ts';
import type { Scalar, Tensor } from '../../shared/engine/tf.ts';
import { createRng } from '../../shared/engine/random.ts';

/** Deterministic pseudo-random values in [-scale, scale) for test inputs. */
export function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * scale);
}

export interface SecondOrderCheck {
  /** Analytic second derivative from tfjs's nested gradients. */
  analytic: Float32Array;
  /** The same from central finite differences of the first gradient. */
  numeric: Float32Array;
}

/** Reads tensors built inside a tidy (WebGPU in Node can only read back asynchronously), then frees them. */
async function readAndDispose(
  analytic: Tensor,
  plus: Tensor,
  minus: Tensor,
  eps: number,
): Promise<SecondOrderCheck> {
  try {
    const [a, p, m] = await Promise.all([analytic.data(), plus.data(), minus.data()]);
    return {
      analytic: Float32Array.from(a),
      numeric: Float32Array.from(p, (v, i) => (v - m[i]!) / (2 * eps)),
    };
  } finally {
    tf.dispose([analytic, plus, minus]);
  }
}

/**
 * Hessian-vector product of a scalar function through tfjs's nested gradients, against central finite
 * differences of its first gradient along the same direction. The first gradient being right says nothing
 * about the second.
 */
export function hessianVectorCheck(
  f: (x: Tensor) => Scalar,
  x: Float32Array,
  shape: number[],
  seed = 7,
  eps = 1e-2,
): Promise<SecondOrderCheck> {
  const [analytic, plus, minus] = tf.tidy(() => {
    const v = tf.tensor(randomValues(x.length, seed), shape);
    const grad = tf.grad(f);
    const hv = tf.grad((t: Tensor) => tf.sum(tf.mul(grad(t), v)) as Scalar);
    const x0 = tf.tensor(x, shape);
    return [hv(x0), grad(tf.add(x0, tf.mul(v, eps))), grad(tf.sub(x0, tf.mul(v, eps)))];
  });
  return readAndDispose(analytic, plus, minus, eps);
}

/**
 * Mixed second derivative: d/dy <grad_x f(x, y), v> against finite differences of grad_y f along x + eps v.
 * This is the path by which the meta-gradient reaches the synthetic images.
 */
export function mixedCheck(
  f: (x: Tensor, y: Tensor) => Scalar,
  x: Float32Array,
  xShape: number[],
  y: Float32Array,
  yShape: number[],
  seed = 11,
  eps = 1e-2,
): Promise<SecondOrderCheck> {
  const [analytic, plus, minus] = tf.tidy(() => {
    const v = tf.tensor(randomValues(x.length, seed), xShape);
    const x0 = tf.tensor(x, xShape);
    const y0 = tf.tensor(y, yShape);
    const s = (xx: Tensor, yy: Tensor): Scalar =>
      tf.sum(tf.mul(tf.grad((t: Tensor) => f(t, yy))(xx), v)) as Scalar;
    const gradY = (xx: Tensor): Tensor => tf.grad((t: Tensor) => f(xx, t))(y0);
    return [tf.grads(s)([x0, y0])[1]!, gradY(tf.add(x0, tf.mul(v, eps))), gradY(tf.sub(x0, tf.mul(v, eps)))];
  });
  return readAndDispose(analytic, plus, minus, eps);
}
