import type { Rng } from '../random.ts';

/**
 * One DSA call's random draws (docs/engine-conventions.md): one family for the whole batch, parameters per
 * sample. Plain JSON, so a call can be recorded (checkpoints, fixtures) and replayed exactly.
 */
export type AugDraw =
  | { family: 'none' }
  | { family: 'color'; brightness: number[]; saturation: number[]; contrast: number[] }
  | { family: 'crop'; tx: number[]; ty: number[] }
  | { family: 'cutout'; ox: number[]; oy: number[] }
  | { family: 'flip'; flip: boolean[] }
  | { family: 'scale'; sx: number[]; sy: number[] }
  | { family: 'rotate'; angle: number[] };

export type AugFamily = AugDraw['family'];

/** The reference strategy `color_crop_cutout_flip_scale_rotate` (method.md section D). */
export const DSA_FAMILIES = ['color', 'crop', 'cutout', 'flip', 'scale', 'rotate'] as const;
export type DsaFamily = (typeof DSA_FAMILIES)[number];

/** Reference constants (ParamDiffAug). */
export const DSA_PARAMS = {
  flipProbability: 0.5,
  scaleRatio: 1.2,
  rotateDegrees: 15,
  cropPadRatio: 0.125,
  cutoutRatio: 0.5,
} as const;

export const cropShift = (size: number): number => Math.floor(size * DSA_PARAMS.cropPadRatio + 0.5);
export const cutoutSize = (size: number): number => Math.floor(size * DSA_PARAMS.cutoutRatio + 0.5);

/**
 * Draws one DSA call for n images of size height x width: a family chosen uniformly from `families`, then
 * per-sample parameters with the reference's distributions. An empty family list means no augmentation.
 */
export function sampleAugDraw(
  rng: Rng,
  n: number,
  height: number,
  width: number,
  families: readonly DsaFamily[] = DSA_FAMILIES,
): AugDraw {
  if (families.length === 0) return { family: 'none' };
  const family = families[rng.int(0, families.length - 1)]!;
  const each = <T>(f: () => T): T[] => Array.from({ length: n }, f);
  switch (family) {
    case 'color':
      return { family, brightness: each(rng.next), saturation: each(rng.next), contrast: each(rng.next) };
    case 'crop': {
      const sx = cropShift(height);
      const sy = cropShift(width);
      return { family, tx: each(() => rng.int(-sx, sx)), ty: each(() => rng.int(-sy, sy)) };
    }
    case 'cutout': {
      // randint(0, size + (1 - cutout % 2)): the upper bound is inclusive of `size` for even cutouts.
      const hx = height + (1 - (cutoutSize(height) % 2)) - 1;
      const hy = width + (1 - (cutoutSize(width) % 2)) - 1;
      return { family, ox: each(() => rng.int(0, hx)), oy: each(() => rng.int(0, hy)) };
    }
    case 'flip':
      return { family, flip: each(() => rng.next() < DSA_PARAMS.flipProbability) };
    case 'scale': {
      const r = DSA_PARAMS.scaleRatio;
      const draw = (): number => rng.next() * (r - 1 / r) + 1 / r;
      return { family, sx: each(draw), sy: each(draw) };
    }
    case 'rotate': {
      const max = (DSA_PARAMS.rotateDegrees / 180) * Math.PI;
      return { family, angle: each(() => (rng.next() - 0.5) * 2 * max) };
    }
  }
}

/** Checks a draw against the batch it is applied to; a replayed draw must fit its batch exactly. */
export function validateAugDraw(draw: AugDraw, n: number): void {
  const fields = Object.entries(draw).filter(([k]) => k !== 'family') as [string, unknown[]][];
  for (const [name, values] of fields) {
    if (!Array.isArray(values) || values.length !== n) {
      throw new Error(
        `DSA ${draw.family}: expected '${name}' to have one entry per image (${n}), got ${Array.isArray(values) ? values.length : typeof values}`,
      );
    }
  }
}
