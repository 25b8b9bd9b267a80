/**
 * Image folders in torchvision ImageFolder's layout, the reference's COVID source (method.md E):
 *
 *   root/train/<class>/<image>.png|.jpg|.jpeg
 *   root/test/<class>/<image>...
 *
 * As ImageFolder does: classes are the sub-folder names in sorted (code-point) order, indexed from 0, and
 * files are taken in sorted order within each class; every image becomes RGB as PIL's convert('RGB') makes it
 * (decode-image.ts). Stricter than ImageFolder, because its silent behaviours hide data mistakes:
 *   - train and test must have the same classes (ImageFolder indexes each folder separately, so a class missing
 *     from test would shift the test labels);
 *   - a class folder must hold at least one image (ImageFolder raises too);
 *   - a file that is not .png/.jpg/.jpeg, a nested folder, or a file at the class level is an error (ImageFolder
 *     skips other extensions and recurses into sub-folders, which would take the Kaggle release's masks/ as images);
 *   - every image must have the same size (the manifest records one raw shape). Names starting with '.' are
 *     ignored (.DS_Store, .ipynb_checkpoints), where ImageFolder would make a class of a hidden folder.
 * Images are decoded and preprocessed one at a time, so only the model-size tensors stay in memory.
 *
 * Validation (for model selection, docs/evaluation.md): the last floor(n_c x valFraction) images of each class's
 * train folder, in sorted file order (default valFraction 0.1), are held out as `val` and never trained on. When
 * that leaves no class with a val image (tiny folders), there is no val split.
 */
import { extname, join } from 'node:path';
import { decodeImage } from './decode-image.ts';
import { DatasetFormatError } from './errors.ts';
import { listDir, readBytes, type DirEntry } from './files.ts';
import { ContentHasher, makeManifest } from './manifest.ts';
import {
  makePreprocessor,
  preprocessSpec,
  type PreprocessOverrides,
  type Preprocessor,
} from './preprocess.ts';
import { COVID_PRESET } from './presets.ts';
import type { Dataset, ImageSet, ImageShape } from './types.ts';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;
const SPLITS = ['train', 'test'] as const;

export interface ImageFolderOptions {
  root: string;
  /** Name in the manifest; defaults to 'image-folder'. */
  name?: string;
  /** The stored size `[height, width]` (or one number for square images) every image must have. Defaults to
   * the size of the first image (train, first class, first file). */
  imageSize?: number | readonly [number, number];
  /** Defaults to the COVID preset (ImageNet mean/std, 112 x 112). */
  preprocess?: PreprocessOverrides;
  /** Fraction of each class's train images held out as val (the last in sorted order); default 0.1. */
  valFraction?: number;
}

export const IMAGE_FOLDER_DEFAULT_VAL_FRACTION = 0.1;

interface ClassListing {
  name: string;
  files: DirEntry[];
}

export async function loadImageFolder(options: ImageFolderOptions): Promise<Dataset> {
  const { root } = options;
  const listings = new Map<(typeof SPLITS)[number], ClassListing[]>();
  for (const split of SPLITS) listings.set(split, await listSplit(join(root, split)));
  const trainClasses = listings.get('train')!.map((c) => c.name);
  const testClasses = listings.get('test')!.map((c) => c.name);
  if (trainClasses.join('\0') !== testClasses.join('\0')) {
    throw new DatasetFormatError(
      join(root, 'test'),
      `the same class folders as train/ [${trainClasses.join(', ')}]`,
      `[${testClasses.join(', ')}]`,
    );
  }

  const hasher = new ContentHasher();
  const spec = preprocessSpec(COVID_PRESET, 3, options.preprocess);
  let expected: { shape: ImageShape; from: string } | undefined =
    options.imageSize === undefined
      ? undefined
      : { shape: squareShape(options.imageSize), from: 'imageSize' };
  let pre: Preprocessor | undefined;
  const sets = new Map<(typeof SPLITS)[number], ImageSet>();

  for (const split of SPLITS) {
    const classes = listings.get(split)!;
    const n = classes.reduce((s, c) => s + c.files.length, 0);
    const [oh, ow] = [spec.resize.height, spec.resize.width];
    const outSize = oh * ow * 3;
    const images = new Float32Array(n * outSize);
    const labels = new Int32Array(n);
    let k = 0;
    for (const [label, cls] of classes.entries()) {
      for (const entry of cls.files) {
        const bytes = await readBytes(entry.path, 'an image file');
        hasher.addFile(`${split}/${cls.name}/${entry.name}`, bytes);
        const img = decodeImage(bytes, entry.path);
        expected ??= { shape: [img.height, img.width, 3], from: `the first image, ${entry.path}` };
        const [eh, ew] = expected.shape;
        if (img.height !== eh || img.width !== ew) {
          throw new DatasetFormatError(
            entry.path,
            `a ${eh}x${ew} image (height x width, as ${expected.from}; every image must have the same size)`,
            `${img.height}x${img.width}`,
          );
        }
        pre ??= makePreprocessor(expected.shape, 'uint8', spec);
        pre.apply(img.rgb, images, k * outSize);
        labels[k++] = label;
      }
    }
    sets.set(split, { images, labels, n, height: oh, width: ow, channels: 3 });
  }

  const valFraction = options.valFraction ?? IMAGE_FOLDER_DEFAULT_VAL_FRACTION;
  const { train, val } = holdOutVal(sets.get('train')!, trainClasses.length, valFraction);
  const test = sets.get('test')!;
  const manifest = makeManifest({
    name: options.name ?? 'image-folder',
    source: { format: 'image-folder', location: root },
    classNames: trainClasses,
    rawShape: expected!.shape,
    rawEncoding: 'uint8',
    preprocess: spec,
    contentHash: hasher.digest(),
    ...(valFraction > 0
      ? {
          splitRule:
            `val: the last floor(n x ${valFraction}) train images of each class (sorted file order)` +
            (val === undefined ? '; none here (every class too small)' : ''),
        }
      : {}),
    splits: val === undefined ? { train, test } : { train, test, val },
  });
  return val === undefined ? { manifest, train, test } : { manifest, train, test, val };
}

/** Splits a class-major set into train and val: the last floor(n_c x fraction) images of each class go to val. */
export function holdOutVal(
  set: ImageSet,
  numClasses: number,
  fraction: number,
): { train: ImageSet; val?: ImageSet } {
  const trainRows: number[] = [];
  const valRows: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const rows = [...set.labels.keys()].filter((i) => set.labels[i] === c);
    const k = Math.floor(rows.length * fraction);
    trainRows.push(...rows.slice(0, rows.length - k));
    valRows.push(...rows.slice(rows.length - k));
  }
  if (valRows.length === 0) return { train: set };
  return { train: takeRows(set, trainRows), val: takeRows(set, valRows) };
}

function takeRows(set: ImageSet, rows: number[]): ImageSet {
  const size = set.height * set.width * set.channels;
  const images = new Float32Array(rows.length * size);
  const labels = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    images.set(set.images.subarray(r * size, (r + 1) * size), i * size);
    labels[i] = set.labels[r]!;
  });
  return { ...set, images, labels, n: rows.length };
}

async function listSplit(dir: string): Promise<ClassListing[]> {
  const layout = 'a folder with one sub-folder per class (ImageFolder layout)';
  const entries = (await listDir(dir, layout)).filter((e) => !e.name.startsWith('.'));
  const stray = entries.find((e) => !e.isDirectory);
  if (stray !== undefined) throw new DatasetFormatError(stray.path, `only class folders in ${dir}`, 'a file');
  if (entries.length === 0) throw new DatasetFormatError(dir, layout, 'no class folders');
  const classes: ClassListing[] = [];
  for (const cls of entries) {
    const files = (await listDir(cls.path, 'a class folder')).filter((e) => !e.name.startsWith('.'));
    for (const f of files) {
      if (f.isDirectory) {
        throw new DatasetFormatError(
          f.path,
          `only image files in class folder ${cls.path}`,
          'a nested folder',
        );
      }
      if (!(IMAGE_EXTENSIONS as readonly string[]).includes(extname(f.name).toLowerCase())) {
        throw new DatasetFormatError(f.path, `an image file (${IMAGE_EXTENSIONS.join(', ')})`, `'${f.name}'`);
      }
    }
    if (files.length === 0) {
      throw new DatasetFormatError(
        cls.path,
        `at least one image (${IMAGE_EXTENSIONS.join(', ')}) in the class folder`,
        'none',
      );
    }
    classes.push({ name: cls.name, files });
  }
  return classes;
}

function squareShape(size: number | readonly [number, number]): ImageShape {
  return typeof size === 'number' ? [size, size, 3] : [size[0], size[1], 3];
}
