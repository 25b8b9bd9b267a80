import type { EvaluateConfig } from '../../config/evaluate.ts';
import type { EvaluationData, EvaluationResult } from './protocol.ts';

export type SelectionSplit = EvaluateConfig['selection'];

/** One evaluation point of a distillation run (e.g. one per eval iteration). */
export interface EvalPoint {
  testAccuracy: number;
  valAccuracy?: number;
}

/** The point an EvaluationResult contributes to a selection history: mean test and val accuracy. */
export const evalPoint = (result: EvaluationResult): EvalPoint => ({
  testAccuracy: result.mean,
  ...(result.val !== undefined ? { valAccuracy: result.val.mean } : {}),
});

/**
 * Picks the best evaluation point on one split, the first of equals winning (the reference updates its best only
 * on a strictly greater accuracy). The reference selects its `*_best.pt` images on **test** accuracy (method.md I.10),
 * which leaks the test set into the reported number; this port defaults to **val** and keeps 'test' to reproduce
 * the reference (docs/evaluation.md).
 */
export function selectBest<T extends EvalPoint>(
  history: readonly T[],
  split: SelectionSplit = 'val',
): { index: number; point: T } {
  if (history.length === 0) throw new Error('selectBest: expected at least one evaluation point, got none');
  const score = (p: T, i: number): number => {
    const v = split === 'val' ? p.valAccuracy : p.testAccuracy;
    if (v === undefined || !Number.isFinite(v)) {
      throw new Error(
        `selectBest: expected a finite ${split} accuracy at every point, got ${v} at index ${i}` +
          (split === 'val'
            ? " (no validation split? set evaluate.selection to 'test' to select as the reference does)"
            : ''),
      );
    }
    return v;
  };
  let index = 0;
  let best = score(history[0]!, 0);
  history.forEach((p, i) => {
    const v = score(p, i);
    if (v > best) {
      best = v;
      index = i;
    }
  });
  return { index, point: history[index]! };
}

/** Fails early when the configured selection needs a split the data does not have (COVID has no val split). */
export function assertSelectable(split: SelectionSplit, data: EvaluationData): void {
  if (split === 'val' && data.val === undefined) {
    throw new Error(
      "evaluate: selection is 'val' but the dataset has no validation split; set evaluate.selection to 'test' (the reference's choice)",
    );
  }
}
