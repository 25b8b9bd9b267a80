import type { Taps } from '../ops/sample-taps.ts';

/** Builds one-tap tables from a per-pixel source function returning [row, col] or null (zero fill). */
function oneTap(
  n: number,
  h: number,
  w: number,
  source: (b: number, i: number, j: number) => [number, number] | null,
): Taps {
  const index = new Int32Array(n * h * w);
  const weight = new Float32Array(n * h * w);
  let p = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++, p++) {
        const src = source(b, i, j);
        if (src === null) continue;
        index[p] = (b * h + src[0]) * w + src[1];
        weight[p] = 1;
      }
    }
  }
  return { taps: 1, index, weight };
}

/** Integer translation with zero fill: out[i, j] = x[i + tx, j + ty] (tx on rows, ty on columns). */
export function cropTaps(n: number, h: number, w: number, tx: number[], ty: number[]): Taps {
  return oneTap(n, h, w, (b, i, j) => {
    const r = i + tx[b]!;
    const c = j + ty[b]!;
    return r >= 0 && r < h && c >= 0 && c < w ? [r, c] : null;
  });
}

/** Horizontal flip (the W axis) of the flagged samples. */
export function flipTaps(n: number, h: number, w: number, flip: boolean[]): Taps {
  return oneTap(n, h, w, (b, i, j) => [i, flip[b] ? w - 1 - j : j]);
}

/**
 * PyTorch `affine_grid` + bilinear `grid_sample` with align_corners=True and zero padding, for one 2x3
 * matrix per sample (rows [a, b, c] and [d, e, f] map normalised output (x, y, 1) to input (x', y')).
 */
export function affineTaps(
  n: number,
  h: number,
  w: number,
  theta: (b: number) => [number, number, number, number, number, number],
): Taps {
  if (h < 2 || w < 2) throw new Error(`affine DSA: images must be at least 2x2, got ${h}x${w}`);
  const index = new Int32Array(n * h * w * 4);
  const weight = new Float32Array(n * h * w * 4);
  let p = 0;
  for (let b = 0; b < n; b++) {
    const [a, bb, c, d, e, f] = theta(b);
    for (let i = 0; i < h; i++) {
      const yn = -1 + (2 * i) / (h - 1);
      for (let j = 0; j < w; j++, p++) {
        const xn = -1 + (2 * j) / (w - 1);
        const ix = ((a * xn + bb * yn + c + 1) * (w - 1)) / 2;
        const iy = ((d * xn + e * yn + f + 1) * (h - 1)) / 2;
        const x0 = Math.floor(ix);
        const y0 = Math.floor(iy);
        const fx = ix - x0;
        const fy = iy - y0;
        const corners: [number, number, number][] = [
          [y0, x0, (1 - fy) * (1 - fx)],
          [y0, x0 + 1, (1 - fy) * fx],
          [y0 + 1, x0, fy * (1 - fx)],
          [y0 + 1, x0 + 1, fy * fx],
        ];
        corners.forEach(([r, col, wt], k) => {
          if (r < 0 || r >= h || col < 0 || col >= w) return;
          index[p * 4 + k] = (b * h + r) * w + col;
          weight[p * 4 + k] = wt;
        });
      }
    }
  }
  return { taps: 4, index, weight };
}

export const scaleTaps = (n: number, h: number, w: number, sx: number[], sy: number[]): Taps =>
  affineTaps(n, h, w, (b) => [sx[b]!, 0, 0, 0, sy[b]!, 0]);

export const rotateTaps = (n: number, h: number, w: number, angle: number[]): Taps =>
  affineTaps(n, h, w, (b) => {
    const cos = Math.cos(angle[b]!);
    const sin = Math.sin(angle[b]!);
    return [cos, -sin, 0, sin, cos, 0];
  });

/** Cutout mask [n*H*W]: zero inside the clamped square centred at (ox, oy), one elsewhere. */
export function cutoutMask(
  n: number,
  h: number,
  w: number,
  size: [number, number],
  ox: number[],
  oy: number[],
): Float32Array {
  const mask = new Float32Array(n * h * w).fill(1);
  const clamp = (v: number, hi: number): number => Math.min(Math.max(v, 0), hi);
  for (let b = 0; b < n; b++) {
    for (let u = 0; u < size[0]; u++) {
      const r = clamp(ox[b]! - Math.floor(size[0] / 2) + u, h - 1);
      for (let v = 0; v < size[1]; v++) {
        const c = clamp(oy[b]! - Math.floor(size[1] / 2) + v, w - 1);
        mask[(b * h + r) * w + c] = 0;
      }
    }
  }
  return mask;
}
