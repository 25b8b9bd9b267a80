/**
 * Bicubic resizing exactly as PyTorch's `F.interpolate(x, size, mode='bicubic', align_corners=False,
 * antialias=...)`, which is what torchvision's tensor `Resize(..., BICUBIC)` calls.
 *
 * PyTorch has two different bicubic kernels, selected by `antialias`, and they differ for upsampling too:
 *   - `antialias=false` (aten `upsample_bicubic2d`): the cubic convolution kernel with a = -0.75, always 4 taps
 *     around the source coordinate `scale * (i + 0.5) - 0.5`; taps outside the image are clamped to the border.
 *   - `antialias=true` (aten `_upsample_bicubic2d_aa`, a port of PIL's resampler): the Keys kernel with a = -0.5,
 *     stretched by `scale` when downsampling (support 2 * scale instead of 2, so every input pixel contributes);
 *     taps outside the image are dropped and the remaining weights renormalised to sum to 1.
 * Both are separable; they are evaluated as a width pass followed by a height pass (as PyTorch's antialiased
 * path does), with float64 accumulation and a float32 result.
 *
 * The only float32 detail copied from PyTorch is the source coordinate of the a = -0.75 path, which PyTorch
 * computes in the tensor's precision; it decides the taps, so matching it keeps the error at rounding level.
 */

/** Sparse 1-D resampling matrix: output index o reads `index[k]` with `weight[k]` for k in [start[o], start[o+1]). */
export interface ResizeTaps {
  inSize: number;
  outSize: number;
  start: Int32Array;
  index: Int32Array;
  weight: Float64Array;
}

export interface ResizePlan {
  rows: ResizeTaps;
  cols: ResizeTaps;
  antialias: boolean;
}

/** PyTorch's kernel constant for each path. */
export function bicubicA(antialias: boolean): -0.5 | -0.75 {
  return antialias ? -0.5 : -0.75;
}

/** The cubic convolution kernel with parameter `a` (Keys 1981), at distance `x`. */
export function cubicKernel(x: number, a: number): number {
  const d = Math.abs(x);
  if (d < 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return (((d - 5) * d + 8) * d - 4) * a;
  return 0;
}

export function bicubicTaps(inSize: number, outSize: number, antialias: boolean): ResizeTaps {
  if (!(Number.isInteger(inSize) && inSize > 0 && Number.isInteger(outSize) && outSize > 0)) {
    throw new RangeError(`bicubicTaps: sizes must be positive integers, got ${inSize} -> ${outSize}`);
  }
  return antialias ? antialiasTaps(inSize, outSize) : clampedTaps(inSize, outSize);
}

/** aten upsample_bicubic2d, align_corners=False: 4 taps, border indices clamped, a = -0.75. */
function clampedTaps(inSize: number, outSize: number): ResizeTaps {
  const a = bicubicA(false);
  const start = new Int32Array(outSize + 1);
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  // area_pixel_compute_scale / _source_index in the tensor's precision (float32); cubic => no clamp at 0.
  const scale = Math.fround(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    const real = Math.fround(scale * (o + 0.5) - 0.5);
    const f = Math.floor(real);
    const t = real - f;
    start[o] = o * 4;
    for (let k = 0; k < 4; k++) {
      index[o * 4 + k] = Math.min(Math.max(f - 1 + k, 0), inSize - 1);
      weight[o * 4 + k] = cubicKernel(t + 1 - k, a);
    }
  }
  start[outSize] = outSize * 4;
  return { inSize, outSize, start, index, weight };
}

/** aten _upsample_bicubic2d_aa (PIL's ImagingResample): support scaled when downsampling, weights renormalised. */
function antialiasTaps(inSize: number, outSize: number): ResizeTaps {
  const a = bicubicA(true);
  const scale = inSize / outSize;
  const support = scale >= 1 ? 2 * scale : 2;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const starts: number[] = [];
  const idx: number[] = [];
  const wts: number[] = [];
  for (let o = 0; o < outSize; o++) {
    starts.push(idx.length);
    const center = scale * (o + 0.5);
    // static_cast<int64_t> truncates toward zero; the max with 0 makes that equal to floor here.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    const first = wts.length;
    for (let j = xmin; j < xmax; j++) {
      const w = cubicKernel((j - center + 0.5) * invScale, a);
      idx.push(j);
      wts.push(w);
      total += w;
    }
    if (total !== 0) for (let k = first; k < wts.length; k++) wts[k] = wts[k]! / total;
  }
  starts.push(idx.length);
  return {
    inSize,
    outSize,
    start: Int32Array.from(starts),
    index: Int32Array.from(idx),
    weight: Float64Array.from(wts),
  };
}

export function makeResizePlan(
  inHeight: number,
  inWidth: number,
  outHeight: number,
  outWidth: number,
  antialias: boolean,
): ResizePlan {
  return {
    rows: bicubicTaps(inHeight, outHeight, antialias),
    cols: bicubicTaps(inWidth, outWidth, antialias),
    antialias,
  };
}

/**
 * Resizes one HWC image `src` (any numeric array, `channels` interleaved) into `dst` at `dstOffset`, HWC float32.
 * `scratch` (length inHeight * outWidth * channels) may be passed to avoid an allocation per image.
 */
export function applyResizePlan(
  plan: ResizePlan,
  src: ArrayLike<number>,
  channels: number,
  dst: Float32Array,
  dstOffset = 0,
  scratch?: Float64Array,
): void {
  const { rows, cols } = plan;
  const inH = rows.inSize;
  const inW = cols.inSize;
  const outH = rows.outSize;
  const outW = cols.outSize;
  if (src.length !== inH * inW * channels) {
    throw new RangeError(
      `applyResizePlan: source has ${src.length} values, plan expects ${inH}x${inW}x${channels}`,
    );
  }
  if (dstOffset + outH * outW * channels > dst.length) {
    throw new RangeError(
      `applyResizePlan: destination too small for ${outH}x${outW}x${channels} at ${dstOffset}`,
    );
  }
  const tmp = scratch ?? new Float64Array(inH * outW * channels);
  // Width pass: tmp[y, ox, c] = sum_k w_k * src[y, idx_k, c].
  for (let y = 0; y < inH; y++) {
    const srcRow = y * inW * channels;
    const tmpRow = y * outW * channels;
    for (let ox = 0; ox < outW; ox++) {
      const k0 = cols.start[ox]!;
      const k1 = cols.start[ox + 1]!;
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let k = k0; k < k1; k++) s += cols.weight[k]! * src[srcRow + cols.index[k]! * channels + c]!;
        tmp[tmpRow + ox * channels + c] = s;
      }
    }
  }
  // Height pass: dst[oy, ox, c] = sum_k w_k * tmp[idx_k, ox, c].
  const rowLen = outW * channels;
  for (let oy = 0; oy < outH; oy++) {
    const k0 = rows.start[oy]!;
    const k1 = rows.start[oy + 1]!;
    const out = dstOffset + oy * rowLen;
    for (let x = 0; x < rowLen; x++) {
      let s = 0;
      for (let k = k0; k < k1; k++) s += rows.weight[k]! * tmp[rows.index[k]! * rowLen + x]!;
      dst[out + x] = s;
    }
  }
}

/** Convenience form for one image: returns a new HWC float32 array of `outHeight x outWidth x channels`. */
export function resizeBicubic(
  src: ArrayLike<number>,
  shape: readonly [height: number, width: number, channels: number],
  outHeight: number,
  outWidth: number,
  options: { antialias: boolean },
): Float32Array {
  const [h, w, c] = shape;
  const plan = makeResizePlan(h, w, outHeight, outWidth, options.antialias);
  const dst = new Float32Array(outHeight * outWidth * c);
  applyResizePlan(plan, src, c, dst);
  return dst;
}
