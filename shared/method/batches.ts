import { permutation, type Rng } from '../engine/random.ts';

/**
 * One epoch of shuffled minibatch index lists (DataLoader(shuffle=True) with the last partial batch kept).
 */
export function epochBatches(n: number, batchSize: number, rng: Rng): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`epochBatches: expected a positive batch size, got ${batchSize}`);
  const order = permutation(n, rng);
  const batches: number[][] = [];
  for (let i = 0; i < n; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/**
 * The synthetic minibatches of one distillation iteration (method.md A.4 step 5): `randperm` split into
 * chunks of batchSyn, consumed from the END of the list, refilled when empty, for `steps` steps.
 */
export function syntheticStepBatches(nSyn: number, batchSyn: number, steps: number, rng: Rng): number[][] {
  const out: number[][] = [];
  let chunks: number[][] = [];
  for (let k = 0; k < steps; k++) {
    if (chunks.length === 0) chunks = epochBatches(nSyn, batchSyn, rng);
    out.push(chunks.pop()!);
  }
  return out;
}
