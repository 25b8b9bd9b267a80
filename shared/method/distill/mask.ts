/**
 * The easy-to-complex ("spl") mask of method.md A.4 step 6. The reference keeps one 0/1 vector over
 * parameter coordinates for the whole run, shared by every expert, and only ever switches entries on.
 */
export interface MaskSchedule {
  baseThreshold: number;
  growingFactor: number;
  growEvery: number;
}

/** tau(it) = growingFactor^(it // growEvery) * baseThreshold. */
export function maskThreshold(iteration: number, s: MaskSchedule): number {
  return s.growingFactor ** Math.floor(iteration / s.growEvery) * s.baseThreshold;
}

/**
 * Admits coordinates whose squared error is below the threshold. Cumulative (the reference) keeps every
 * earlier admission; `recompute` is classic self-paced learning (the mask is this iteration's test alone).
 * Returns a new mask; the input is not modified.
 */
export function updateMask(
  mask: Uint8Array,
  squaredError: Float32Array,
  threshold: number,
  recompute: boolean,
): Uint8Array {
  if (mask.length !== squaredError.length) {
    throw new Error(
      `updateMask: mask has ${mask.length} entries but the squared error has ${squaredError.length}`,
    );
  }
  const next = recompute ? new Uint8Array(mask.length) : mask.slice();
  for (let i = 0; i < next.length; i++) if (squaredError[i]! < threshold) next[i] = 1;
  return next;
}

/** Fraction of coordinates admitted (the reference logs it as "Utilization"). */
export function maskUtilization(mask: Uint8Array): number {
  let on = 0;
  for (const v of mask) on += v;
  return on / mask.length;
}
