import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../shared/storage/memory.ts';
import { decodeSafetensors } from '../../shared/storage/safetensors.ts';
import { trainExperts } from '../../shared/method/pipeline/experts.ts';
import { distillStage, inRunEvalSeed } from '../../shared/method/pipeline/distill.ts';
import { evaluateStage, loadPublishedSet } from '../../shared/method/pipeline/evaluate.ts';
import { tinyRunConfig, tinyRunData } from './helpers/tiny-run.ts';

const differing = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let k = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) k++;
  return k + Math.abs(a.length - b.length);
};

// The pipeline step end to end at toy size: in-run evaluations on val pick the published set.
describe('distillStage / evaluateStage: the selected set (chosen on val) and the final one', () => {
  it("publishes the winning point's set as synthetic.safetensors and the final iterate beside it, labelled; evaluate reports both", async () => {
    const cfg = tinyRunConfig();
    const data = tinyRunData();
    const store = createMemoryStore();
    await trainExperts(cfg, data, store, 'r');
    const evaluations: [number, number][] = [];
    const result = await distillStage(cfg, data, store, 'r', 'main', {
      onEvaluation: (it, acc) => void evaluations.push([it, acc]),
    });
    expect(result.complete).toBe(true);
    expect(evaluations.map(([it]) => it)).toEqual([2, 4]);
    const { best } = result.state;
    expect(best).not.toBeNull();
    // The winner is the first point with the highest val accuracy (strictly greater replaces).
    const top = Math.max(...evaluations.map(([, a]) => a));
    expect(best!.iteration).toBe(evaluations.find(([, a]) => a === top)![0]);
    expect(best!.accuracy).toBe(top);
    expect(result.published).toBe('selected');

    const published = await loadPublishedSet(store, 'r', 'main');
    const final = await loadPublishedSet(store, 'r', 'main', 'final');
    expect(published).toMatchObject({
      kind: 'selected',
      iteration: best!.iteration,
      selection: { split: 'val', accuracy: top },
    });
    expect(differing(published.images, best!.images)).toBe(0);
    expect(published.lr).toBe(Math.fround(best!.lr));
    expect(final).toMatchObject({ kind: 'final', iteration: 5 });
    expect(differing(final.images, result.state.images)).toBe(0);
    expect(differing(final.images, published.images)).toBeGreaterThan(0);
    expect(result.resultKeys).toContain('r/results/main/synthetic-final.safetensors');
    expect(result.resultKeys).toContain('r/results/main/final-class-02.png');

    // In-run evaluations are seeded per iteration, and the metrics file says which seed judged which point.
    const lines = new TextDecoder()
      .decode(await store.get(result.metricsKey))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; iteration?: number; seed?: number; split?: string });
    const evals = lines.filter((l) => l.kind === 'evaluation');
    expect(evals.map((l) => [l.iteration, l.seed, l.split])).toEqual([
      [2, inRunEvalSeed(cfg.evaluate.seed, 2), 'val'],
      [4, inRunEvalSeed(cfg.evaluate.seed, 4), 'val'],
    ]);
    expect(inRunEvalSeed(0, 2)).not.toBe(inRunEvalSeed(0, 4));

    const ev = await evaluateStage(cfg, data, store, 'r', 'main', { baseline: false });
    expect(ev.sets).toEqual({
      synthetic: {
        kind: 'selected',
        iteration: best!.iteration,
        lr: published.lr,
        selection: { split: 'val', accuracy: top },
      },
      final: { kind: 'final', iteration: 5, lr: final.lr, selection: null },
    });
    expect(ev.final).not.toBe(ev.synthetic);
    expect(ev.final!.protocol.lr).toBe(final.lr);
    expect(ev.synthetic.protocol.lr).toBe(published.lr);
    const stored = JSON.parse(new TextDecoder().decode(await store.get(ev.key))) as Record<string, unknown>;
    expect(Object.keys(stored).sort()).toEqual(['dataset', 'final', 'randomReal', 'sets', 'synthetic']);
    // The safetensors metadata labels the set for readers outside this code.
    const meta = decodeSafetensors(await store.get('r/results/main/synthetic.safetensors'), 'k').metadata;
    expect(meta).toMatchObject({ set: 'selected', selectedOn: 'val', iteration: String(best!.iteration) });
  });

  it('without evaluation points the published set is the final one, labelled so, and evaluated once', async () => {
    const cfg = tinyRunConfig({ distill: { evalEvery: 0, iterations: 1 } });
    const data = tinyRunData();
    const store = createMemoryStore();
    await trainExperts(cfg, data, store, 'r');
    const result = await distillStage(cfg, data, store, 'r', 'main');
    expect(result.published).toBe('final');
    const published = await loadPublishedSet(store, 'r', 'main');
    expect(published.kind).toBe('final');
    expect(differing(published.images, result.state.images)).toBe(0);
    const ev = await evaluateStage(cfg, data, store, 'r', 'main', { baseline: false });
    expect(ev.final).toBe(ev.synthetic);
  });

  it("selection 'val' on data without a val split is an error (no fallback to test), in distill and evaluate", async () => {
    const cfg = tinyRunConfig();
    const data = tinyRunData({ val: false });
    const store = createMemoryStore();
    await trainExperts(cfg, data, store, 'r');
    await expect(distillStage(cfg, data, store, 'r', 'main')).rejects.toThrow(
      "evaluate: selection is 'val' but the dataset has no validation split; set evaluate.selection to 'test'",
    );
    expect(await store.list('r/distill')).toEqual([]);
    await expect(evaluateStage(cfg, data, store, 'r', 'main', { baseline: false })).rejects.toThrow(
      "selection is 'val' but the dataset has no validation split",
    );
    // 'test' is the documented way to reproduce the reference: it selects on test.
    const ref = tinyRunConfig({ evaluate: { selection: 'test' }, distill: { iterations: 2 } });
    const r = await distillStage(ref, data, store, 'r', 'ref');
    expect((await loadPublishedSet(store, 'r', 'ref')).selection?.split).toBe('test');
    expect(r.published).toBe('selected');
  });
});
