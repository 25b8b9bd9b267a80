/**
 * The dataset layer's entry point: `loadDataset(spec)` validates a spec and dispatches to the loader of its
 * format. Each loader is its own module (medmnist.ts, image-folder.ts, mnist.ts); docs/datasets.md describes
 * the formats, their checks and the preprocessing choices.
 */
import { loadImageFolder } from './image-folder.ts';
import { loadMedMnist } from './medmnist.ts';
import { loadMnist } from './mnist.ts';
import { datasetSpecSchema, type DatasetSpec } from './spec.ts';
import type { Dataset } from './types.ts';

/** Loads the dataset `spec` describes. `spec` is parsed with `datasetSpecSchema` first (a ZodError if invalid). */
export async function loadDataset(spec: DatasetSpec): Promise<Dataset> {
  const s = datasetSpecSchema.parse(spec);
  switch (s.kind) {
    case 'medmnist':
      return loadMedMnist(s);
    case 'image-folder':
      return loadImageFolder(s);
    case 'mnist':
      return loadMnist(s);
  }
}

export { DatasetFormatError } from './errors.ts';
export {
  datasetSpecSchema,
  type DatasetSpec,
  type MedMnistSpec,
  type ImageFolderSpec,
  type MnistSpec,
} from './spec.ts';
export { loadImageFolder, type ImageFolderOptions } from './image-folder.ts';
export {
  loadMedMnist,
  decodeMedMnist,
  MEDMNIST_2D,
  MEDMNIST_NAMES,
  MEDMNIST_SIZES,
  type MedMnistName,
} from './medmnist.ts';
export { loadMnist, MNIST_SPLIT_RULE, type MnistOptions } from './mnist.ts';
export { preprocessImage, preprocessSpec, makePreprocessor, type PreprocessOverrides } from './preprocess.ts';
export { resizeBicubic, makeResizePlan, applyResizePlan } from './resize.ts';
export * from './presets.ts';
export type * from './types.ts';
