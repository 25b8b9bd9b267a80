import type { Normalisation } from '../../data/types.ts';

/** One image's shape, HWC. */
export interface PixelShape {
  height: number;
  width: number;
  channels: number;
}

/** SSIM constants (Wang et al. 2004, as scikit-image's `structural_similarity`): data range 1, 7x7 window. */
export const SSIM_WINDOW = 7;
const C1 = (0.01 * 1) ** 2;
const C2 = (0.03 * 1) ** 2;

/** Normalised model inputs back to pixel values in [0, 1] (x * std + mean, clipped), as the PNG grids show them. */
export function toPixels(images: Float32Array, channels: number, norm: Normalisation): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const c = i % channels;
    out[i] = Math.min(1, Math.max(0, images[i]! * norm.std[c]! + norm.mean[c]!));
  }
  return out;
}

/** Squared L2 distance between image `i` of `a` and image `j` of `b` (flat, same size `d`), in float64. */
export function squaredL2(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0;
  const oa = i * d;
  const ob = j * d;
  for (let k = 0; k < d; k++) {
    const t = a[oa + k]! - b[ob + k]!;
    s += t * t;
  }
  return s;
}

/**
 * Mean SSIM of two images in [0, 1] (HWC, offsets in values), averaged over channels and over every 7x7 window
 * that lies inside the image, with the sample covariance (N / (N - 1)): scikit-image's `structural_similarity`
 * with `data_range=1`, `win_size=7`, `channel_axis=-1`. Window sums use summed-area tables, so one pair costs
 * O(pixels). Identical images give exactly 1.
 */
export function ssim(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  shape: PixelShape,
): number {
  const { height: h, width: w, channels: ch } = shape;
  const win = Math.min(SSIM_WINDOW, h, w);
  const np = win * win;
  const cov = np > 1 ? np / (np - 1) : 1;
  const W = w + 1;
  const tables = Array.from({ length: 5 }, () => new Float64Array((h + 1) * W));
  let total = 0;
  for (let c = 0; c < ch; c++) {
    const [sa, sb, saa, sbb, sab] = tables as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const p = (y * w + x) * ch + c;
        const va = a[aOffset + p]!;
        const vb = b[bOffset + p]!;
        const q = (y + 1) * W + (x + 1);
        const up = y * W + (x + 1);
        const left = (y + 1) * W + x;
        const diag = y * W + x;
        sa[q] = va + sa[up]! + sa[left]! - sa[diag]!;
        sb[q] = vb + sb[up]! + sb[left]! - sb[diag]!;
        saa[q] = va * va + saa[up]! + saa[left]! - saa[diag]!;
        sbb[q] = vb * vb + sbb[up]! + sbb[left]! - sbb[diag]!;
        sab[q] = va * vb + sab[up]! + sab[left]! - sab[diag]!;
      }
    }
    const box = (t: Float64Array, y: number, x: number): number =>
      t[(y + win) * W + x + win]! - t[y * W + x + win]! - t[(y + win) * W + x]! + t[y * W + x]!;
    let sum = 0;
    let count = 0;
    for (let y = 0; y + win <= h; y++) {
      for (let x = 0; x + win <= w; x++) {
        const ma = box(sa, y, x) / np;
        const mb = box(sb, y, x) / np;
        const va = cov * (box(saa, y, x) / np - ma * ma);
        const vb = cov * (box(sbb, y, x) / np - mb * mb);
        const vab = cov * (box(sab, y, x) / np - ma * mb);
        sum += ((2 * ma * mb + C1) * (2 * vab + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
        count++;
      }
    }
    total += sum / count;
  }
  return total / ch;
}
