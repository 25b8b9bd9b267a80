import { tf } from '../../shared/engine/tf.ts';
import { convNetLayout, type ConvNetConfig } from '../../shared/engine/convnet/layout.ts';
import { initConvNetParams } from '../../shared/engine/convnet/init.ts';
import { sampleAugDraw } from '../../shared/engine/dsa/draws.ts';
import { createRng } from '../../shared/engine/random.ts';
import { syntheticStepBatches } from '../../shared/method/batches.ts';
import type { MatchingProblem, MatchingTerms } from '../../shared/method/matching/problem.ts';

/** The PathMNIST IPC10 shape of the meta-gradient benchmarks (platform.md section 2). */
export const CFG: ConvNetConfig = { channels: 3, width: 128, depth: 3, imageSize: 32, numClasses: 9 };
export const N_SYN = 90;
export const BATCH = 10;
export const FULL_STEPS = 80;

/** A reproducible IPC10-shaped problem: expert points near an init, DSA on every step, half the mask on. */
export function problemOf(steps: number): { problem: MatchingProblem; terms: MatchingTerms } {
  const rng = createRng(0);
  const start = initConvNetParams(CFG, rng);
  const target = start.map((v) => v + 0.01 * (rng.next() - 0.5));
  const mid = start.map((v, i) => 0.5 * (v + target[i]!) + 0.002 * (rng.next() - 0.5));
  const s = CFG.imageSize;
  return {
    problem: {
      cfg: CFG,
      expert: { start: tf.tensor1d(start), mid: tf.tensor1d(mid), target: tf.tensor1d(target) },
      images: tf.tensor4d(
        Float32Array.from({ length: N_SYN * s * s * 3 }, () => 2 * rng.next() - 1),
        [N_SYN, s, s, 3],
      ),
      labels: tf.tensor1d(
        Array.from({ length: N_SYN }, (_, i) => Math.floor(i / 10)),
        'int32',
      ),
      lr: 0.01,
      steps: syntheticStepBatches(N_SYN, BATCH, steps, rng).map((indices) => ({
        indices,
        draw: sampleAugDraw(rng, indices.length, s, s),
      })),
    },
    terms: {
      mask: tf.tensor1d(
        Float32Array.from({ length: convNetLayout(CFG).size }, () => (rng.next() < 0.5 ? 1 : 0)),
      ),
      lambda: 0.5,
    },
  };
}

export function disposeProblem({ problem, terms }: ReturnType<typeof problemOf>): void {
  tf.dispose([problem.images, problem.labels, terms.mask, ...Object.values(problem.expert)]);
}
