/**
 * The reference's per-image transform (method.md E), in its order and precision:
 *   ToTensor (uint8 / 255, float32) -> Normalize ((x - mean) / std, float32) -> Resize((h, w), BICUBIC) -> CenterCrop.
 * Normalising before resizing matters: the bicubic kernel overshoots, so the order changes the values at edges.
 * CenterCrop to the same size as the Resize is a no-op and is omitted.
 *
 * The scaling and normalisation steps copy PyTorch's float32 arithmetic exactly (each step is correctly rounded
 * to float32, as `div`, `sub_` and `div_` on float32 tensors are); the resize is resize.ts.
 */
import { applyResizePlan, bicubicA, makeResizePlan, type ResizePlan } from './resize.ts';
import { normalisationFor, type PreprocessPreset } from './presets.ts';
import type { ImageShape, PreprocessSpec } from './types.ts';

/** How raw pixels are stored: `uint8` goes through ToTensor's `/ 255`; `unit-float` is already in [0, 1]. */
export type RawEncoding = 'uint8' | 'unit-float';

export interface PreprocessOverrides {
  mean?: readonly number[];
  std?: readonly number[];
  outputSize?: readonly [number, number];
  antialias?: boolean;
}

/** A preset with the caller's overrides, constants expanded to `channels`. */
export function preprocessSpec(
  preset: PreprocessPreset,
  channels: number,
  overrides: PreprocessOverrides = {},
): PreprocessSpec {
  const aa = overrides.antialias ?? preset.antialias;
  const [height, width] = overrides.outputSize ?? preset.outputSize;
  const normalisation = normalisationFor(
    { mean: overrides.mean ?? preset.normalisation.mean, std: overrides.std ?? preset.normalisation.std },
    channels,
  );
  return { normalisation, resize: { method: 'bicubic', height, width, antialias: aa, a: bicubicA(aa) } };
}

export interface Preprocessor {
  inShape: ImageShape;
  outShape: ImageShape;
  /** Transforms one raw HWC image into `dst` at `dstOffset` (HWC float32, `outShape`). */
  apply(src: ArrayLike<number>, dst: Float32Array, dstOffset: number): void;
}

export function makePreprocessor(
  inShape: ImageShape,
  encoding: RawEncoding,
  spec: PreprocessSpec,
): Preprocessor {
  const [h, w, c] = inShape;
  const { mean, std } = spec.normalisation;
  if (mean.length !== c || std.length !== c) {
    throw new RangeError(`preprocess: normalisation has ${mean.length} channels, images have ${c}`);
  }
  const m = Float32Array.from(mean); // torch.as_tensor(mean, dtype=float32)
  const s = Float32Array.from(std);
  const outShape: ImageShape = [spec.resize.height, spec.resize.width, c];
  const plan: ResizePlan | undefined =
    h === spec.resize.height && w === spec.resize.width
      ? undefined // torchvision returns the image unchanged when it already has the size
      : makeResizePlan(h, w, spec.resize.height, spec.resize.width, spec.resize.antialias);
  const normalised = new Float32Array(h * w * c);
  const scratch = new Float64Array(h * spec.resize.width * c);
  const size = h * w * c;

  return {
    inShape,
    outShape,
    apply(src, dst, dstOffset) {
      if (src.length !== size)
        throw new RangeError(`preprocess: image has ${src.length} values, expected ${h}x${w}x${c}`);
      for (let i = 0; i < size; i++) {
        const ch = i % c;
        // Float32Array stores round each step to float32, as PyTorch's float32 ops do.
        normalised[i] = encoding === 'uint8' ? src[i]! / 255 : src[i]!;
        normalised[i] = normalised[i]! - m[ch]!;
        normalised[i] = normalised[i]! / s[ch]!;
      }
      if (plan === undefined) dst.set(normalised, dstOffset);
      else applyResizePlan(plan, normalised, c, dst, dstOffset, scratch);
    },
  };
}

/** One image through the whole transform; for tests and one-off use. */
export function preprocessImage(
  src: ArrayLike<number>,
  inShape: ImageShape,
  encoding: RawEncoding,
  spec: PreprocessSpec,
): Float32Array {
  const p = makePreprocessor(inShape, encoding, spec);
  const out = new Float32Array(p.outShape[0] * p.outShape[1] * p.outShape[2]);
  p.apply(src, out, 0);
  return out;
}
