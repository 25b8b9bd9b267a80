import type { RunConfigInput } from '../schema.ts';

/**
 * COVID-19 radiography presets: exp_configs/COVID/ConvIN/IPC<k>_high_order.yaml (method.md G.1), ConvNetD5
 * at 112 px. The reference does not document the COVID expert lr; we follow the MTT/DATM convention that
 * it equals lr_teacher = 0.001 (method.md B, open point).
 */
const base = (ipc: number): RunConfigInput => ({
  name: `covid-ipc${ipc}`,
  // The COVID release has no val split: the last 10% of each class's train images select the published set.
  dataset: { kind: 'image-folder', root: 'data/covid19-radiography', name: 'covid', valFraction: 0.1 },
  model: { width: 128, depth: 5 },
  // keepEpochs: train each expert only to the last epoch distillation can read (docs/experts.md).
  experts: { lr: 0.001, keepEpochs: 'sampled' },
  distill: {
    ipc,
    synSteps: 80,
    expertEpochs: 2,
    minStartEpoch: 0,
    maxStartEpoch: 4,
    lrImg: 100,
    lrTeacher: 0.001,
    lrLr: 1e-7,
    batchSyn: 10,
    iterations: 10000,
    evalEvery: 500,
    mask: { baseThreshold: 1e-10, growingFactor: 1.3 },
    shape: { lambda: 1.0 },
  },
});

export const covidIpc1 = base(1);
export const covidIpc5 = base(5);
/** IPC10: start epochs up to 19. */
export const covidIpc10: RunConfigInput = {
  ...base(10),
  distill: { ...base(10).distill, maxStartEpoch: 20 },
};
/** IPC50: M = 3 expert epochs, faster lr learning, batch 20, faster threshold growth (1.6). */
export const covidIpc50: RunConfigInput = {
  ...base(50),
  distill: {
    ...base(50).distill,
    expertEpochs: 3,
    maxStartEpoch: 20,
    lrLr: 1e-5,
    batchSyn: 20,
    evalEvery: 1000,
    mask: { baseThreshold: 1e-10, growingFactor: 1.6 },
  },
};
