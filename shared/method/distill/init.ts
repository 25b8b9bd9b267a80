import type { ImageSet } from '../../data/types.ts';
import { createRng, permutation, type Rng } from '../../engine/random.ts';
import type { DistillState } from './state.ts';

export interface InitOptions {
  ipc: number;
  init: 'real' | 'noise';
  lrTeacher: number;
  /** Parameter count P of the matched network. */
  paramCount: number;
  maskEnabled: boolean;
  /** Expert ids available for matching. */
  experts: number[];
  seed: number;
}

/** Standard normal draws (Box-Muller) for the noise initialisation. */
function gaussian(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * The initial state (method.md A.2): class-major hard labels; each class's rows are `ipc` real images of
 * that class drawn without replacement (or N(0,1) noise); lr = lr_teacher; an empty mask (all ones when
 * the mask is switched off); a shuffled expert order.
 */
export function initialDistillState(train: ImageSet, numClasses: number, opts: InitOptions): DistillState {
  if (opts.experts.length === 0)
    throw new Error('distill: no complete expert trajectories to match (train experts first)');
  const rng = createRng(opts.seed);
  const { height, width, channels } = train;
  const pixels = height * width * channels;
  const n = numClasses * opts.ipc;
  const images = new Float32Array(n * pixels);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  train.labels.forEach((label, i) => byClass[label]?.push(i));
  for (let c = 0; c < numClasses; c++) {
    const members = byClass[c]!;
    if (opts.init === 'real' && members.length < opts.ipc) {
      throw new Error(
        `distill: class ${c} has ${members.length} training images, fewer than ipc=${opts.ipc}`,
      );
    }
    const chosen = permutation(members.length, rng).slice(0, opts.ipc);
    for (let j = 0; j < opts.ipc; j++) {
      const row = (c * opts.ipc + j) * pixels;
      if (opts.init === 'real')
        images.set(
          train.images.subarray(members[chosen[j]!]! * pixels, (members[chosen[j]!]! + 1) * pixels),
          row,
        );
      else for (let q = 0; q < pixels; q++) images[row + q] = gaussian(rng);
    }
  }
  const order = permutation(opts.experts.length, rng).map((i) => opts.experts[i]!);
  return {
    iteration: 0,
    images,
    imageShape: [n, height, width, channels],
    labels: Int32Array.from({ length: n }, (_, i) => Math.floor(i / opts.ipc)),
    lr: opts.lrTeacher,
    imagesMomentum: null,
    lrMomentum: null,
    mask: new Uint8Array(opts.paramCount).fill(opts.maskEnabled ? 0 : 1),
    expertCursor: { order, position: 0 },
    rng: rng.state(),
    best: null,
  };
}

/**
 * The training rows a real initialisation copied, in the synthetic set's order (row `c * ipc + j` of the
 * synthetic set started as `train` image `rows[c * ipc + j]`): `initialDistillState`'s draws replayed from the
 * same seed. For the privacy audit, which measures how far each image moved from the patient it started as.
 */
export function initialRealRows(train: ImageSet, numClasses: number, ipc: number, seed: number): number[] {
  const rng = createRng(seed);
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  train.labels.forEach((label, i) => byClass[label]?.push(i));
  const rows: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members = byClass[c]!;
    if (members.length < ipc)
      throw new Error(`distill: class ${c} has ${members.length} training images, fewer than ipc=${ipc}`);
    const chosen = permutation(members.length, rng).slice(0, ipc);
    for (let j = 0; j < ipc; j++) rows.push(members[chosen[j]!]!);
  }
  return rows;
}
