import { tf } from '../../engine/tf.ts';
import type { Scalar, Tensor, Tensor1D } from '../../engine/tf.ts';

/** F.normalize's eps: v / max(||v||, eps) == v / sqrt(max(||v||^2, eps^2)). */
const NORMALIZE_EPS_SQ = 1e-24;

/** 1 on the diagonal pairs (i, i), whose difference vectors Z[i] - Z[i] are structurally zero. */
const DIAGONAL = (): Tensor => tf.reshape(tf.eye(3), [3, 3, 1]);

/**
 * Batched angle Gram of a 3-point stack: G[i][j,k] = cos of the angle at Z_i between the edges to Z_j and
 * Z_k, with the reference's normalised zero vectors on the diagonal. Those are set to 0 explicitly rather
 * than normalised: the second derivative of x / sqrt(max(|x|^2, eps^2)) at x = 0 underflows float32
 * (eps^4 = 1e-48) into 0 * inf = NaN, although its true value there is 0.
 */
function angleGram(points: Tensor1D[]): Tensor {
  const z = tf.stack(points); // [3, P]
  const diff = tf.sub(tf.expandDims(z, 0), tf.expandDims(z, 1)); // D[i, j] = Z[j] - Z[i], [3, 3, P]
  const diagonal = DIAGONAL();
  const padded = tf.add(diff, diagonal); // any non-zero filler keeps the diagonal norms away from 0
  const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(padded), 2, true), NORMALIZE_EPS_SQ));
  const unit = tf.mul(tf.div(padded, norm), tf.sub(1, diagonal));
  return tf.matMul(unit, unit, false, true); // [3, 3, 3]
}

function smoothL1Mean(a: Tensor, b: Tensor): Scalar {
  const d = tf.abs(tf.sub(a, b));
  return tf.mean(tf.where(tf.less(d, 1), tf.mul(tf.square(d), 0.5), tf.sub(d, 0.5))) as Scalar;
}

/**
 * The shape-wise ("high-order") angle potential (method.md A.4 step 7): lambda * SmoothL1(beta 1, mean over
 * all 27 Gram entries) between the student stack [start, mid, final] and the teacher stack
 * [start, expertMid, target]. Uses the full, unmasked parameter vectors.
 */
export function shapeLoss(
  student: [Tensor1D, Tensor1D, Tensor1D],
  teacher: [Tensor1D, Tensor1D, Tensor1D],
  lambda: number,
): Scalar {
  return tf.tidy(() => tf.mul(smoothL1Mean(angleGram(student), angleGram(teacher)), lambda) as Scalar);
}
