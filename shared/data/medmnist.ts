/**
 * MedMNIST v2/v3 `.npz` files (2-D sets, sizes 28, 64, 128, 224), the PathMNIST source of the reference
 * (method.md E: `medmnist.PathMNIST(split=...)`).
 *
 * Layout, as published: `train_images` uint8 (N, H, W, 3) for RGB sets or (N, H, W) for grayscale ones,
 * `train_labels` integer (N, 1), and the same for `val_` and `test_`. File names are `<name>.npz` for size 28 and
 * `<name>_<size>.npz` otherwise. Everything is checked against that before any pixel is used.
 */
import { basename } from 'node:path';
import { DatasetFormatError } from './errors.ts';
import { readBytes } from './files.ts';
import { ContentHasher, makeManifest } from './manifest.ts';
import { npyIntegers } from './npy.ts';
import { openNpz, type NpzArchive } from './npz.ts';
import { makePreprocessor, preprocessSpec, type PreprocessOverrides } from './preprocess.ts';
import { MEDMNIST_DEFAULT_PRESET, PATHMNIST_PRESET } from './presets.ts';
import type { Dataset, ImageSet, ImageShape, SplitName } from './types.ts';

export interface MedMnistInfo {
  classNames: readonly string[];
  channels: 1 | 3;
  /** Only single-label tasks can be loaded; ChestMNIST (multi-label) is listed so that it fails clearly. */
  task: 'multi-class' | 'binary-class' | 'ordinal-regression' | 'multi-label';
}

const ORGAN_CLASSES = [
  'bladder',
  'femur-left',
  'femur-right',
  'heart',
  'kidney-left',
  'kidney-right',
  'liver',
  'lung-left',
  'lung-right',
  'pancreas',
  'spleen',
] as const;

/** The 2-D MedMNIST sets, class names from medmnist's INFO (PathMNIST's abbreviations from method.md E). */
export const MEDMNIST_2D = {
  pathmnist: {
    // adipose, background, debris, lymphocytes, mucus, smooth muscle, normal colon mucosa,
    // cancer-associated stroma, colorectal adenocarcinoma epithelium
    classNames: ['ADI', 'BACK', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM'],
    channels: 3,
    task: 'multi-class',
  },
  chestmnist: {
    classNames: [
      'atelectasis',
      'cardiomegaly',
      'effusion',
      'infiltration',
      'mass',
      'nodule',
      'pneumonia',
      'pneumothorax',
      'consolidation',
      'edema',
      'emphysema',
      'fibrosis',
      'pleural',
      'hernia',
    ],
    channels: 1,
    task: 'multi-label',
  },
  dermamnist: {
    classNames: [
      'actinic keratoses and intraepithelial carcinoma',
      'basal cell carcinoma',
      'benign keratosis-like lesions',
      'dermatofibroma',
      'melanoma',
      'melanocytic nevi',
      'vascular lesions',
    ],
    channels: 3,
    task: 'multi-class',
  },
  octmnist: {
    classNames: ['choroidal neovascularization', 'diabetic macular edema', 'drusen', 'normal'],
    channels: 1,
    task: 'multi-class',
  },
  pneumoniamnist: { classNames: ['normal', 'pneumonia'], channels: 1, task: 'binary-class' },
  retinamnist: { classNames: ['0', '1', '2', '3', '4'], channels: 3, task: 'ordinal-regression' },
  breastmnist: { classNames: ['malignant', 'normal, benign'], channels: 1, task: 'binary-class' },
  bloodmnist: {
    classNames: [
      'basophil',
      'eosinophil',
      'erythroblast',
      'immature granulocytes(myelocytes, metamyelocytes and promyelocytes)',
      'lymphocyte',
      'monocyte',
      'neutrophil',
      'platelet',
    ],
    channels: 3,
    task: 'multi-class',
  },
  tissuemnist: {
    classNames: [
      'Collecting Duct, Connecting Tubule',
      'Distal Convoluted Tubule',
      'Glomerular endothelial cells',
      'Interstitial endothelial cells',
      'Leukocytes',
      'Podocytes',
      'Proximal Tubule Segments',
      'Thick Ascending Limb',
    ],
    channels: 1,
    task: 'multi-class',
  },
  organamnist: { classNames: ORGAN_CLASSES, channels: 1, task: 'multi-class' },
  organcmnist: { classNames: ORGAN_CLASSES, channels: 1, task: 'multi-class' },
  organsmnist: { classNames: ORGAN_CLASSES, channels: 1, task: 'multi-class' },
} as const satisfies Record<string, MedMnistInfo>;

export type MedMnistName = keyof typeof MEDMNIST_2D;
export const MEDMNIST_NAMES: readonly MedMnistName[] = Object.keys(MEDMNIST_2D).filter(isMedMnistName);
export const MEDMNIST_SIZES = [28, 64, 128, 224] as const;
export type MedMnistSize = (typeof MEDMNIST_SIZES)[number];

export function isMedMnistName(s: string): s is MedMnistName {
  return Object.hasOwn(MEDMNIST_2D, s);
}

/** The published file name: `pathmnist.npz` (28) or `pathmnist_64.npz`. */
export function medmnistFileName(name: MedMnistName, size: MedMnistSize): string {
  return size === 28 ? `${name}.npz` : `${name}_${size}.npz`;
}

/** The set a file name belongs to (`pathmnist_128.npz` -> pathmnist), if it follows the published naming. */
export function medmnistNameFromFile(path: string): MedMnistName | undefined {
  const stem = /^([a-z]+)(?:_\d+)?\.npz$/i.exec(basename(path))?.[1]?.toLowerCase();
  return stem !== undefined && isMedMnistName(stem) ? stem : undefined;
}

export interface MedMnistOptions {
  path: string;
  /** Defaults to the name in the file name. */
  name?: MedMnistName;
  /** The stored image size; every image must have it. */
  imageSize: MedMnistSize;
  /** Load the `val` split too (the reference does not use it). */
  includeVal?: boolean;
  preprocess?: PreprocessOverrides;
}

export async function loadMedMnist(options: MedMnistOptions): Promise<Dataset> {
  const bytes = await readBytes(options.path, 'a MedMNIST .npz file');
  return decodeMedMnist(bytes, options);
}

/** Same as `loadMedMnist`, for bytes already in memory (`options.path` names them in errors and the hash). */
export function decodeMedMnist(bytes: Uint8Array, options: MedMnistOptions): Dataset {
  const file = options.path;
  const name = options.name ?? medmnistNameFromFile(file);
  if (name === undefined) {
    throw new DatasetFormatError(
      file,
      `a MedMNIST file name such as pathmnist.npz or pathmnist_64.npz, or an explicit name (${MEDMNIST_NAMES.join(', ')})`,
      `'${basename(file)}'`,
    );
  }
  const info: MedMnistInfo = MEDMNIST_2D[name];
  if (info.task === 'multi-label') {
    throw new DatasetFormatError(
      file,
      'a single-label MedMNIST set (the method trains with one class index per image)',
      `${name}, which is multi-label (${info.classNames.length} binary labels per image)`,
    );
  }
  const hasher = new ContentHasher();
  hasher.addFile(basename(file), bytes);
  const npz = openNpz(bytes, file);

  const splits: SplitName[] = options.includeVal === true ? ['train', 'val', 'test'] : ['train', 'test'];
  const raw = splits.map((split) => readSplit(npz, split, file, name, info, options.imageSize));
  const rawShape = raw[0]!.shape;
  const spec = preprocessSpec(
    name === 'pathmnist' ? PATHMNIST_PRESET : MEDMNIST_DEFAULT_PRESET,
    info.channels,
    options.preprocess,
  );
  const pre = makePreprocessor(rawShape, 'uint8', spec);
  const [oh, ow, oc] = pre.outShape;
  const sets = new Map<SplitName, ImageSet>();
  for (const [i, split] of splits.entries()) {
    const { pixels, labels, n } = raw[i]!;
    const size = rawShape[0] * rawShape[1] * rawShape[2];
    const images = new Float32Array(n * oh * ow * oc);
    for (let k = 0; k < n; k++)
      pre.apply(pixels.subarray(k * size, (k + 1) * size), images, k * oh * ow * oc);
    sets.set(split, { images, labels, n, height: oh, width: ow, channels: oc });
  }
  const train = sets.get('train')!;
  const test = sets.get('test')!;
  const val = sets.get('val');
  const manifest = makeManifest({
    name,
    source: { format: 'medmnist-npz', location: file },
    classNames: [...info.classNames],
    rawShape,
    rawEncoding: 'uint8',
    preprocess: spec,
    contentHash: hasher.digest(),
    splits: val === undefined ? { train, test } : { train, test, val },
  });
  return val === undefined ? { manifest, train, test } : { manifest, train, test, val };
}

interface RawSplit {
  pixels: Uint8Array;
  labels: Int32Array;
  n: number;
  shape: ImageShape;
}

function readSplit(
  npz: NpzArchive,
  split: SplitName,
  file: string,
  name: MedMnistName,
  info: MedMnistInfo,
  imageSize: number,
): RawSplit {
  const imagesKey = `${split}_images`;
  const labelsKey = `${split}_labels`;
  for (const key of [imagesKey, labelsKey]) {
    if (!npz.has(key)) {
      throw new DatasetFormatError(
        file,
        `an array '${key}' (MedMNIST layout)`,
        `only [${npz.names.join(', ')}]`,
      );
    }
  }
  const images = npz.get(imagesKey);
  const where = `${file}:${imagesKey}.npy`;
  if (images.dtype.name !== 'uint8') {
    throw new DatasetFormatError(where, 'uint8 images', `dtype ${images.dtype.name}`);
  }
  const layout =
    info.channels === 3 ? `(N, ${imageSize}, ${imageSize}, 3)` : `(N, ${imageSize}, ${imageSize})`;
  const [n, h, w, c = 1, ...rest] = images.shape;
  if (n === undefined || h === undefined || w === undefined || rest.length > 0 || c !== info.channels) {
    throw new DatasetFormatError(where, `shape ${layout} for ${name}`, `shape (${images.shape.join(', ')})`);
  }
  if (h !== imageSize || w !== imageSize) {
    throw new DatasetFormatError(
      where,
      `${imageSize}x${imageSize} images (imageSize ${imageSize})`,
      `${h}x${w} images, shape (${images.shape.join(', ')})`,
    );
  }
  if (n === 0) throw new DatasetFormatError(where, 'at least one image', 'an empty array');

  const labelsArr = npz.get(labelsKey);
  const labelsWhere = `${file}:${labelsKey}.npy`;
  const ls = labelsArr.shape;
  if (!(ls[0] === n && (ls.length === 1 || (ls.length === 2 && ls[1] === 1)))) {
    throw new DatasetFormatError(
      labelsWhere,
      `labels of shape (${n}, 1) or (${n},)`,
      `shape (${ls.join(', ')})`,
    );
  }
  const values = npyIntegers(labelsArr, labelsWhere);
  const numClasses = info.classNames.length;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = values[i]!;
    if (y < 0 || y >= numClasses) {
      throw new DatasetFormatError(
        labelsWhere,
        `labels in [0, ${numClasses - 1}] (${name} has ${numClasses} classes)`,
        `${y} at index ${i}`,
      );
    }
    labels[i] = y;
  }
  return { pixels: images.data, labels, n, shape: [h, w, c] };
}
