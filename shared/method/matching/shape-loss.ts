import { tf } from '../../engine/tf.ts';
import type { Scalar, Tensor, Tensor1D, Tensor2D } from '../../engine/tf.ts';

/** F.normalize's eps: v / max(||v||, eps) == v / sqrt(max(||v||^2, eps^2)). */
const NORMALIZE_EPS_SQ = 1e-24;

/**
 * The six edges (i -> j, i != j) of the 3-point stack as one of the three difference vectors
 * D = [Z1 - Z0, Z2 - Z0, Z2 - Z1] and a sign: Z[j] - Z[i] = sign * D[edge].
 */
const EDGES: Record<string, { edge: number; sign: number }> = {
  '0,1': { edge: 0, sign: 1 },
  '0,2': { edge: 1, sign: 1 },
  '1,0': { edge: 0, sign: -1 },
  '1,2': { edge: 2, sign: 1 },
  '2,0': { edge: 1, sign: -1 },
  '2,1': { edge: 2, sign: -1 },
};

/**
 * For each Gram entry (i, j, k), flattened i-major: the entry of the 3x3 edge-cosine matrix it reads and the
 * sign it takes; 0 where j = i or k = i (the reference normalises the zero vector Z[i] - Z[i] to 0).
 */
const GRAM_ENTRIES = [0, 1, 2].flatMap((i) =>
  [0, 1, 2].flatMap((j) =>
    [0, 1, 2].map((k) => {
      const a = EDGES[`${i},${j}`];
      const b = EDGES[`${i},${k}`];
      return a && b ? { index: 3 * a.edge + b.edge, sign: a.sign * b.sign } : { index: 0, sign: 0 };
    }),
  ),
);

/**
 * Batched angle Gram of a 3-point stack, flattened to 27 entries: G[i][j,k] = cos of the angle at Z_i between
 * the edges to Z_j and Z_k (0 where an edge is Z_i to itself). Every such cosine is one of the 3x3 cosines
 * between the three difference vectors, up to sign, so one [3, P] x [P, 3] product gives all of them; the
 * reference forms and normalises all nine [P]-long differences ([3, 3, P]), which cost ~80 ms per
 * meta-gradient on tensorflow against ~5 here. Norms are sqrt(max(|v|^2, eps^2)) = F.normalize's max(|v|, eps).
 */
function angleGram(points: Tensor1D[]): Tensor {
  const [z0, z1, z2] = points as [Tensor1D, Tensor1D, Tensor1D];
  const d = tf.stack([tf.sub(z1, z0), tf.sub(z2, z0), tf.sub(z2, z1)]); // [3, P]
  const inner = tf.matMul(d as Tensor2D, d as Tensor2D, false, true); // [3, 3]
  const norms = tf.sqrt(tf.maximum(tf.gather(tf.reshape(inner, [9]), [0, 4, 8]), NORMALIZE_EPS_SQ));
  const cosines = tf.div(inner, tf.mul(tf.reshape(norms, [3, 1]), tf.reshape(norms, [1, 3])));
  const picked = tf.gather(
    tf.reshape(cosines, [9]),
    GRAM_ENTRIES.map((e) => e.index),
  );
  return tf.mul(picked, tf.tensor1d(GRAM_ENTRIES.map((e) => e.sign)));
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
