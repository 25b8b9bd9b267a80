import { tf } from '../../engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../engine/tf.ts';
import { convNetForward } from '../../engine/convnet/forward.ts';
import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import type { ImageSet } from '../../data/types.ts';

/** Rows `rows` of a set, as a new set (same order). */
export function subset(set: ImageSet, rows: readonly number[]): ImageSet {
  const size = set.height * set.width * set.channels;
  const images = new Float32Array(rows.length * size);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    images.set(set.images.subarray(r * size, (r + 1) * size), i * size);
    labels[i] = set.labels[r]!;
  });
  return { ...set, images, labels, n: rows.length };
}

/**
 * Per-example cross-entropy of the ConvNet with flat parameters `params` at each image's true label, in batches,
 * without augmentation: the signal of a loss-based membership attack (members tend to have lower loss).
 */
export async function perExampleLoss(
  params: Float32Array,
  set: ImageSet,
  cfg: ConvNetConfig,
  batchSize = 256,
): Promise<Float64Array> {
  const pixels = set.height * set.width * set.channels;
  const out = new Float64Array(set.n);
  const theta = tf.tensor1d(params);
  try {
    for (let start = 0; start < set.n; start += batchSize) {
      const end = Math.min(set.n, start + batchSize);
      const losses = tf.tidy(() => {
        const x = tf.tensor4d(set.images.subarray(start * pixels, end * pixels), [
          end - start,
          set.height,
          set.width,
          set.channels,
        ]) as Tensor4D;
        const y = tf.tensor1d(set.labels.subarray(start, end), 'int32') as Tensor1D;
        const logp = tf.logSoftmax(convNetForward(theta, x, cfg));
        return tf.neg(tf.sum(tf.mul(logp, tf.oneHot(y, cfg.numClasses)), 1));
      });
      out.set(await losses.data(), start);
      losses.dispose();
    }
  } finally {
    theta.dispose();
  }
  return out;
}

/**
 * ROC AUC of scores where higher means "member": the probability that a random member outscores a random
 * non-member, ties counting one half (the Mann-Whitney U statistic over n_m x n_n). 0.5 is chance.
 */
export function rocAuc(members: ArrayLike<number>, nonMembers: ArrayLike<number>): number {
  const all = [
    ...Array.from(members, (v) => ({ v, m: 1 })),
    ...Array.from(nonMembers, (v) => ({ v, m: 0 })),
  ].sort((a, b) => a.v - b.v);
  // Mid-ranks for ties.
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k]!.m === 1) rankSum += mid;
    i = j + 1;
  }
  const nm = members.length;
  const nn = nonMembers.length;
  if (nm === 0 || nn === 0) throw new Error(`rocAuc: expected members and non-members, got ${nm} and ${nn}`);
  return (rankSum - (nm * (nm + 1)) / 2) / (nm * nn);
}

/** ROC curve points (fpr, tpr) as the threshold sweeps down from +infinity, ties taken together. */
export function rocCurve(
  members: ArrayLike<number>,
  nonMembers: ArrayLike<number>,
): { fpr: number[]; tpr: number[] } {
  const all = [
    ...Array.from(members, (v) => ({ v, m: 1 })),
    ...Array.from(nonMembers, (v) => ({ v, m: 0 })),
  ].sort((a, b) => b.v - a.v);
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j]!.v === all[i]!.v) {
      if (all[j]!.m === 1) tp++;
      else fp++;
      j++;
    }
    fpr.push(fp / nonMembers.length);
    tpr.push(tp / members.length);
    i = j;
  }
  return { fpr, tpr };
}

/**
 * The largest true-positive rate of a threshold whose false-positive rate is at most `maxFpr` (e.g. 0.01):
 * the low-FPR figure that matters for privacy (Carlini et al. 2022). With fewer than 1/maxFpr non-members the
 * only such threshold may admit no false positive at all; the result then says so through `nonMembers`.
 */
export function tprAtFpr(members: ArrayLike<number>, nonMembers: ArrayLike<number>, maxFpr: number): number {
  const { fpr, tpr } = rocCurve(members, nonMembers);
  let best = 0;
  for (let i = 0; i < fpr.length; i++) if (fpr[i]! <= maxFpr + 1e-12) best = Math.max(best, tpr[i]!);
  return best;
}

/** A thinned ROC curve for plots (at most `points` + 2 points, always with its ends). */
export function thinCurve(
  curve: { fpr: number[]; tpr: number[] },
  points = 100,
): { fpr: number[]; tpr: number[] } {
  const n = curve.fpr.length;
  if (n <= points + 2) return curve;
  const keep = new Set([0, n - 1]);
  for (let k = 1; k <= points; k++) keep.add(Math.round((k * (n - 1)) / (points + 1)));
  const idx = [...keep].sort((a, b) => a - b);
  return { fpr: idx.map((i) => curve.fpr[i]!), tpr: idx.map((i) => curve.tpr[i]!) };
}

/** One attack's figures on one target network. */
export interface AttackFigures {
  auc: number;
  tprAt1Fpr: number;
  /** The same attack restricted to the members that initialised the synthetic set, against all non-members. */
  initialImages: { n: number; auc: number; tprAt1Fpr: number; meanScorePercentile: number } | null;
  roc: { fpr: number[]; tpr: number[] };
}

/**
 * Scores members (the last `initialCount` of which are the initial images) against non-members. Higher score
 * means "member". `meanScorePercentile`: the mean fraction of non-members an initial image outscores.
 */
export function attackFigures(
  memberScores: ArrayLike<number>,
  nonMemberScores: ArrayLike<number>,
  initialMask: readonly boolean[],
): AttackFigures {
  const init = Array.from(memberScores).filter((_, i) => initialMask[i]);
  const non = Array.from(nonMemberScores);
  return {
    auc: rocAuc(memberScores, nonMemberScores),
    tprAt1Fpr: tprAtFpr(memberScores, nonMemberScores, 0.01),
    initialImages:
      init.length === 0
        ? null
        : {
            n: init.length,
            auc: rocAuc(init, non),
            tprAt1Fpr: tprAtFpr(init, non, 0.01),
            meanScorePercentile:
              init.reduce((a, s) => a + non.filter((v) => v < s).length / non.length, 0) / init.length,
          },
    roc: thinCurve(rocCurve(memberScores, nonMemberScores)),
  };
}
