import type { ImageSet, Normalisation } from '../../data/types.ts';
import { squaredL2, ssim, toPixels, type PixelShape } from './similarity.ts';

/** How one synthetic image relates to the real training images. */
export interface NearestRecord {
  /** Row of the synthetic set, and its class. */
  index: number;
  label: number;
  /** The L2-nearest real training image (any class): its train row and the distance in normalised space. */
  nearestL2: { row: number; distance: number };
  /** The most similar real training image by SSIM (pixel space) among the L2 candidates and the initial image. */
  nearestSsim: { row: number; ssim: number };
  /** The real image this synthetic image was initialised from (null for a noise init). */
  initial: { row: number; distance: number; ssim: number; rank: number } | null;
  /** SSIM with the nearest real image is at least the configured threshold. */
  flagged: boolean;
}

export interface NearestOptions {
  norm: Normalisation;
  /** Training rows of the initial images, one per synthetic image (null: noise init). */
  initialRows: number[] | null;
  /** SSIM is computed against this many L2-nearest real images, plus the initial one. */
  candidates: number;
  /** Flag a synthetic image whose best SSIM reaches this. */
  threshold: number;
  signal?: AbortSignal;
}

/**
 * For each synthetic image: its nearest real training image by L2 in normalised (model input) space over the
 * whole training split, the best SSIM (pixel space, [0, 1]) among the `candidates` L2-nearest and its initial
 * image, its distance and SSIM to that initial image, and the initial image's rank among all real images by L2
 * (1 = still the nearest). Distances are exact (float64 sums); ties in rank count against the initial image.
 */
export async function nearestNeighbours(
  synthetic: { images: Float32Array; labels: Int32Array },
  train: ImageSet,
  opts: NearestOptions,
): Promise<NearestRecord[]> {
  const shape: PixelShape = { height: train.height, width: train.width, channels: train.channels };
  const d = shape.height * shape.width * shape.channels;
  const n = synthetic.labels.length;
  if (synthetic.images.length !== n * d)
    throw new Error(
      `audit: expected ${n} synthetic images of ${train.height}x${train.width}x${train.channels} (${n * d} values), got ${synthetic.images.length}`,
    );
  if (opts.initialRows !== null && opts.initialRows.length !== n)
    throw new Error(`audit: expected ${n} initial rows, got ${opts.initialRows.length}`);
  const synPx = toPixels(synthetic.images, shape.channels, opts.norm);
  const realPx = toPixels(train.images, shape.channels, opts.norm);
  const out: NearestRecord[] = [];
  const dist = new Float64Array(train.n);
  for (let i = 0; i < n; i++) {
    opts.signal?.throwIfAborted();
    for (let j = 0; j < train.n; j++) dist[j] = squaredL2(synthetic.images, i, train.images, j, d);
    const order = Array.from(dist.keys()).sort((x, y) => dist[x]! - dist[y]! || x - y);
    const init = opts.initialRows?.[i];
    const candidates = new Set(order.slice(0, opts.candidates));
    if (init !== undefined) candidates.add(init);
    let best = { row: -1, ssim: -Infinity };
    for (const row of candidates) {
      const s = ssim(synPx, i * d, realPx, row * d, shape);
      if (s > best.ssim || (s === best.ssim && row < best.row)) best = { row, ssim: s };
    }
    const initial =
      init === undefined
        ? null
        : {
            row: init,
            distance: Math.sqrt(dist[init]!),
            ssim: ssim(synPx, i * d, realPx, init * d, shape),
            rank: 1 + order.filter((row) => row !== init && dist[row]! <= dist[init]!).length,
          };
    out.push({
      index: i,
      label: synthetic.labels[i]!,
      nearestL2: { row: order[0]!, distance: Math.sqrt(dist[order[0]!]!) },
      nearestSsim: best,
      initial,
      flagged: best.ssim >= opts.threshold,
    });
    // Yield between images so heartbeats run during a long search.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

/** Five-number summary (min, quartiles by linear interpolation, max) and mean of some values. */
export interface Summary {
  n: number;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  mean: number;
}

export function summarise(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summarise: expected at least one value, got none');
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number): number => {
    const x = p * (s.length - 1);
    const lo = Math.floor(x);
    return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (x - lo);
  };
  return {
    n: s.length,
    min: s[0]!,
    q1: q(0.25),
    median: q(0.5),
    q3: q(0.75),
    max: s[s.length - 1]!,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}
