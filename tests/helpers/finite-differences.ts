import { tf } from '../../shared/engine/tf.ts';
import type { Scalar, Tensor } from '../../shared/engine/tf.ts';
import { createRng } from '../../shared/engine/random.ts';

/** Deterministic pseudo-random values in [-scale, scale) for test inputs. */
export function randomValues(n: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => (2 * rng.next() - 1) * scale);
}

export interface SecondOrderCheck {
  /** Analytic d/dx_i <grad_x f, v>, from tfjs's nested gradients. */
  analytic: Float32Array;
  /** Central finite difference of grad_x f along v: (grad f(x + eps v) - grad f(x - eps v)) / 2 eps. */
  numeric: Float32Array;
}

/**
 * Hessian-vector product of a scalar function through tfjs's nested gradients against central finite
 * differences of its first gradient. The first gradient being right says nothing about the second.
 */
export function hessianVectorCheck(f: (x: Tensor) => Scalar, x: Float32Array, shape: number[], seed = 7, eps = 1e-2): SecondOrderCheck {
  return tf.tidy(() => {
    const v = tf.tensor(randomValues(x.length, seed), shape);
    const grad = tf.grad(f);
    const hv = tf.grad((t: Tensor) => tf.sum(tf.mul(grad(t), v)) as Scalar);
    const x0 = tf.tensor(x, shape);
    const analytic = hv(x0).dataSync() as Float32Array;
    const plus = grad(tf.add(x0, tf.mul(v, eps))).dataSync();
    const minus = grad(tf.sub(x0, tf.mul(v, eps))).dataSync();
    const numeric = plus.map((p, i) => (p - minus[i]!) / (2 * eps)) as Float32Array;
    return { analytic: Float32Array.from(analytic), numeric };
  });
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
): SecondOrderCheck {
  return tf.tidy(() => {
    const v = tf.tensor(randomValues(x.length, seed), xShape);
    const x0 = tf.tensor(x, xShape);
    const y0 = tf.tensor(y, yShape);
    const s = (xx: Tensor, yy: Tensor): Scalar =>
      tf.sum(tf.mul(tf.grad((t: Tensor) => f(t, yy))(xx), v)) as Scalar;
    const analytic = tf.grads(s)([x0, y0])[1]!.dataSync() as Float32Array;
    const gradY = (xx: Tensor): Float32Array => tf.grad((t: Tensor) => f(xx, t))(y0).dataSync() as Float32Array;
    const plus = gradY(tf.add(x0, tf.mul(v, eps)));
    const minus = gradY(tf.sub(x0, tf.mul(v, eps)));
    const numeric = plus.map((p, i) => (p - minus[i]!) / (2 * eps)) as Float32Array;
    return { analytic: Float32Array.from(analytic), numeric };
  });
}
