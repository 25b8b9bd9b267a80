import { expect } from 'vitest';

/**
 * Scale-relative closeness: max |a - e| <= rel * max(|e|, floor). Element-wise relative error is
 * meaningless for entries near zero, so the tolerance is relative to the largest expected magnitude.
 */
export function maxRelativeError(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  floor = 1e-12,
): number {
  if (actual.length !== expected.length) {
    throw new Error(`length mismatch: actual ${actual.length}, expected ${expected.length}`);
  }
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(a)) return Infinity;
    diff = Math.max(diff, Math.abs(a - e));
    scale = Math.max(scale, Math.abs(e));
  }
  return diff / scale;
}

export function expectClose(
  actual: ArrayLike<number> | number,
  expected: ArrayLike<number> | number,
  rel: number,
  what = 'value',
): void {
  const a = typeof actual === 'number' ? [actual] : actual;
  const e = typeof expected === 'number' ? [expected] : expected;
  const err = maxRelativeError(a, e);
  expect(err, `${what}: relative error ${err.toExponential(3)} exceeds ${rel}`).toBeLessThanOrEqual(rel);
}
