import { tf } from '../../shared/engine/tf.ts';
import { convNetLayout, type ConvNetConfig } from '../../shared/engine/convnet/layout.ts';
import { initConvNetParams } from '../../shared/engine/convnet/init.ts';
import { sampleAugDraw } from '../../shared/engine/dsa/draws.ts';
import { createRng } from '../../shared/engine/random.ts';
import type { MatchingProblem, MatchingTerms } from '../../shared/method/matching/problem.ts';

/** A small, fully specified matching problem (random expert points near a PyTorch-style init). */
export function smallProblem(opts: {
  steps: number;
  seed?: number;
  cfg?: ConvNetConfig;
  perClass?: number;
  batch?: number;
}): {
  problem: MatchingProblem;
  terms: MatchingTerms;
} {
  const cfg = opts.cfg ?? { channels: 3, width: 4, depth: 2, imageSize: 8, numClasses: 3 };
  const rng = createRng(opts.seed ?? 1);
  const P = convNetLayout(cfg).size;
  const start = initConvNetParams(cfg, rng);
  const target = start.map((v) => v + 0.05 * (rng.next() - 0.5));
  const mid = start.map((v, i) => 0.5 * (v + target[i]!));
  const perClass = opts.perClass ?? 2;
  const n = perClass * cfg.numClasses;
  const s = cfg.imageSize;
  const batch = opts.batch ?? Math.min(n, 4);
  const steps = Array.from({ length: opts.steps }, (_, k) => {
    const indices = Array.from({ length: batch }, (_, i) => (k * batch + i) % n);
    return { indices, draw: sampleAugDraw(rng, batch, s, s) };
  });
  return {
    problem: {
      cfg,
      expert: { start: tf.tensor1d(start), mid: tf.tensor1d(mid), target: tf.tensor1d(target) },
      images: tf.tensor4d(
        Float32Array.from({ length: n * s * s * cfg.channels }, () => 2 * rng.next() - 1),
        [n, s, s, cfg.channels],
      ),
      labels: tf.tensor1d(
        Array.from({ length: n }, (_, i) => Math.floor(i / perClass)),
        'int32',
      ),
      lr: 0.05,
      steps,
    },
    terms: {
      mask: tf.tensor1d(Float32Array.from({ length: P }, () => (rng.next() < 0.5 ? 1 : 0))),
      lambda: 0.5,
    },
  };
}

export function disposeProblem(problem: MatchingProblem, terms: MatchingTerms): void {
  tf.dispose([problem.images, problem.labels, ...Object.values(problem.expert), terms.mask]);
}
