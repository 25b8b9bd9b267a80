import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMedMnist, medmnistFileName, medmnistNameFromFile } from '../../shared/data/medmnist.ts';
import { preprocessImage } from '../../shared/data/preprocess.ts';
import { fixturePath, loadNumpyFixture } from './helpers/fixtures.ts';
import { formatErrorOf } from './helpers/expect-error.ts';
import { medmnistNpz, pseudoRandomBytes, type SplitArrays } from './helpers/npz-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'medmnist-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function rgbSplit(
  n: number,
  size: number,
  labels: number[],
  seed: number,
): SplitArrays & { images: Uint8Array } {
  return { images: pseudoRandomBytes(n * size * size * 3, seed), imageShape: [n, size, size, 3], labels };
}

const TRAIN_LABELS = [0, 8, 3, 3, 5, 1];
const TEST_LABELS = [2, 2, 7];
const pathSplits = {
  train: rgbSplit(6, 28, TRAIN_LABELS, 1),
  val: rgbSplit(2, 28, [4, 6], 2),
  test: rgbSplit(3, 28, TEST_LABELS, 3),
};

describe('MedMNIST npz loader', () => {
  it('loads PathMNIST (numpy-style deflate + zip64 headers) into 32x32x3 model inputs with a manifest', async () => {
    const path = write('pathmnist.npz', medmnistNpz(pathSplits, { compress: true, zip64LocalHeaders: true }));
    const ds = await loadMedMnist({ path, imageSize: 28 });
    expect(ds.val).toBeUndefined();
    expect([ds.train.n, ds.train.height, ds.train.width, ds.train.channels]).toEqual([6, 32, 32, 3]);
    expect(ds.train.images.length).toBe(6 * 32 * 32 * 3);
    expect(Array.from(ds.train.labels)).toEqual(TRAIN_LABELS);
    expect(Array.from(ds.test.labels)).toEqual(TEST_LABELS);

    const m = ds.manifest;
    expect(m.name).toBe('pathmnist');
    expect(m.source).toEqual({ format: 'medmnist-npz', location: path });
    expect(m.classNames).toEqual(['ADI', 'BACK', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM']);
    expect(m.numClasses).toBe(9);
    expect(m.counts.train).toEqual({ total: 6, perClass: [1, 1, 0, 2, 0, 1, 0, 0, 1] });
    expect(m.counts.test).toEqual({ total: 3, perClass: [0, 0, 2, 0, 0, 0, 0, 1, 0] });
    expect(m.counts.val).toBeUndefined();
    expect(m.rawShape).toEqual([28, 28, 3]);
    expect(m.rawEncoding).toBe('uint8');
    expect(m.inputShape).toEqual([32, 32, 3]);
    expect(m.preprocess).toEqual({
      normalisation: { mean: [0.741, 0.533, 0.706], std: [0.402, 0.821, 0.407] },
      resize: { method: 'bicubic', height: 32, width: 32, antialias: false, a: -0.75 },
    });
    expect(m.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(m.splitRule).toBeUndefined();
  });

  it('preprocesses every image exactly as the per-image transform', async () => {
    const path = write('pathmnist.npz', medmnistNpz(pathSplits));
    const ds = await loadMedMnist({ path, imageSize: 28, preprocess: { antialias: false } });
    const per = 28 * 28 * 3;
    const out = 32 * 32 * 3;
    for (const k of [0, 5]) {
      const want = preprocessImage(
        pathSplits.train.images.subarray(k * per, (k + 1) * per),
        [28, 28, 3],
        'uint8',
        ds.manifest.preprocess,
      );
      expect(ds.train.images.subarray(k * out, (k + 1) * out)).toEqual(want);
    }
    expect(ds.manifest.preprocess.resize.a).toBe(-0.75);
  });

  it('loads val on request', async () => {
    const path = write('pathmnist.npz', medmnistNpz(pathSplits));
    const ds = await loadMedMnist({ path, imageSize: 28, includeVal: true });
    expect(ds.val?.n).toBe(2);
    expect(ds.manifest.counts.val?.perClass).toEqual([0, 0, 0, 0, 1, 0, 1, 0, 0]);
  });

  it("reads numpy's own np.savez_compressed output", async () => {
    const want = loadNumpyFixture();
    const ds = await loadMedMnist({
      path: fixturePath('tests/fixtures/pathmnist_numpy_compressed.npz'),
      name: 'pathmnist',
      imageSize: 28,
      includeVal: true,
    });
    expect(Array.from(ds.train.labels)).toEqual(want.splits.train?.labels);
    expect(Array.from(ds.val!.labels)).toEqual(want.splits.val?.labels);
    expect(Array.from(ds.test.labels)).toEqual(want.splits.test?.labels);
  });

  it('loads a grayscale set at size 64 with (N,) labels: 1 channel, MedMNIST default constants, 64 -> 32', async () => {
    const n = 4;
    const path = write(
      'pneumoniamnist_64.npz',
      medmnistNpz({
        train: {
          images: pseudoRandomBytes(n * 64 * 64, 4),
          imageShape: [n, 64, 64],
          labels: [0, 1, 1, 0],
          labelShape: [n],
        },
        test: {
          images: pseudoRandomBytes(2 * 64 * 64, 5),
          imageShape: [2, 64, 64],
          labels: [1, 0],
          labelDescr: '<i8',
        },
      }),
    );
    const ds = await loadMedMnist({ path, imageSize: 64 });
    expect(ds.manifest.name).toBe('pneumoniamnist');
    expect(ds.manifest.classNames).toEqual(['normal', 'pneumonia']);
    expect(ds.manifest.rawShape).toEqual([64, 64, 1]);
    expect(ds.manifest.inputShape).toEqual([32, 32, 1]);
    expect(ds.manifest.preprocess.normalisation).toEqual({ mean: [0.5], std: [0.5] });
    expect(ds.manifest.counts.train.perClass).toEqual([2, 2]);
  });

  it('names files as MedMNIST publishes them', () => {
    expect(medmnistFileName('pathmnist', 28)).toBe('pathmnist.npz');
    expect(medmnistFileName('pathmnist', 224)).toBe('pathmnist_224.npz');
    expect(medmnistNameFromFile('/data/bloodmnist_128.npz')).toBe('bloodmnist');
    expect(medmnistNameFromFile('/data/mystery.npz')).toBeUndefined();
  });

  it('gives the same content hash for the same bytes and a different one when one pixel changes', async () => {
    const a = await loadMedMnist({ path: write('pathmnist.npz', medmnistNpz(pathSplits)), imageSize: 28 });
    const b = await loadMedMnist({ path: write('pathmnist.npz', medmnistNpz(pathSplits)), imageSize: 28 });
    expect(b.manifest.contentHash).toBe(a.manifest.contentHash);
    const changed = { ...pathSplits, test: { ...pathSplits.test, images: pathSplits.test.images.slice() } };
    changed.test.images[100] = (changed.test.images[100]! + 1) % 256;
    const c = await loadMedMnist({ path: write('pathmnist.npz', medmnistNpz(changed)), imageSize: 28 });
    expect(c.manifest.contentHash).not.toBe(a.manifest.contentHash);
  });
});

describe('MedMNIST validation', () => {
  const load = (name: string, splits: Record<string, SplitArrays>, imageSize: 28 | 64 = 28) =>
    loadMedMnist({ path: write(name, medmnistNpz(splits)), imageSize });

  it('throws when images are float64 instead of uint8', async () => {
    const images = Array.from(pseudoRandomBytes(2 * 28 * 28 * 3, 9), (v) => v / 255);
    const bad = {
      ...pathSplits,
      train: {
        images: Float64Array.from(images),
        imageShape: [2, 28, 28, 3],
        labels: [0, 1],
        imageDescr: '<f8' as const,
      },
    };
    const err = await formatErrorOf(() => load('pathmnist.npz', bad));
    expect(err.message).toBe(
      `${join(dir, 'pathmnist.npz')}:train_images.npy: expected uint8 images, found dtype float64`,
    );
  });

  it('throws when PathMNIST images have no channel axis', async () => {
    const bad = {
      ...pathSplits,
      test: { images: pseudoRandomBytes(3 * 28 * 28, 1), imageShape: [3, 28, 28], labels: [0, 1, 2] },
    };
    const err = await formatErrorOf(() => load('pathmnist.npz', bad));
    expect(err.message).toMatch(
      /pathmnist\.npz:test_images\.npy: expected shape \(N, 28, 28, 3\) for pathmnist, found shape \(3, 28, 28\)$/,
    );
  });

  it('throws when the images do not have the requested imageSize', async () => {
    const err = await formatErrorOf(() => load('pathmnist.npz', pathSplits, 64));
    expect(err.message).toMatch(
      /train_images\.npy: expected 64x64 images \(imageSize 64\), found 28x28 images/,
    );
  });

  it('throws when a label is out of range, naming the index', async () => {
    const bad = { ...pathSplits, train: { ...pathSplits.train, labels: [0, 1, 2, 9, 4, 5] } };
    const err = await formatErrorOf(() => load('pathmnist.npz', bad));
    expect(err.message).toMatch(
      /train_labels\.npy: expected labels in \[0, 8\] \(pathmnist has 9 classes\), found 9 at index 3$/,
    );
    const negative = {
      ...pathSplits,
      test: { ...pathSplits.test, labels: [0, -1, 2], labelDescr: '|i1' as const },
    };
    expect((await formatErrorOf(() => load('pathmnist.npz', negative))).message).toMatch(
      /found -1 at index 1$/,
    );
  });

  it('throws when labels and images disagree in count or labels have extra columns', async () => {
    const short = { ...pathSplits, test: { ...pathSplits.test, labels: [0, 1] } };
    expect((await formatErrorOf(() => load('pathmnist.npz', short))).message).toMatch(
      /test_labels\.npy: expected labels of shape \(3, 1\) or \(3,\), found shape \(2, 1\)$/,
    );
    const wide = {
      ...pathSplits,
      test: { ...pathSplits.test, labels: [0, 1, 0, 1, 0, 1], labelShape: [3, 2] },
    };
    expect((await formatErrorOf(() => load('pathmnist.npz', wide))).message).toMatch(/found shape \(3, 2\)$/);
  });

  it('throws when a split is missing, listing the arrays present', async () => {
    const err = await formatErrorOf(() => load('pathmnist.npz', { train: pathSplits.train }));
    expect(err.message).toMatch(
      /pathmnist\.npz: expected an array 'test_images' \(MedMNIST layout\), found only \[train_images, train_labels\]$/,
    );
  });

  it('throws for ChestMNIST, which is multi-label', async () => {
    const err = await formatErrorOf(() => load('chestmnist.npz', pathSplits));
    expect(err.message).toMatch(
      /expected a single-label MedMNIST set .* found chestmnist, which is multi-label \(14 binary labels per image\)/,
    );
  });

  it('throws when the set cannot be told from the file name', async () => {
    const err = await formatErrorOf(() => load('data.npz', pathSplits));
    expect(err.message).toMatch(
      /data\.npz: expected a MedMNIST file name such as pathmnist\.npz .*found 'data\.npz'/,
    );
  });

  it('throws when the file is missing or truncated, naming the path', async () => {
    const missing = join(dir, 'pathmnist_128.npz');
    expect((await formatErrorOf(() => loadMedMnist({ path: missing, imageSize: 128 }))).message).toBe(
      `${missing}: expected a MedMNIST .npz file, found nothing at that path`,
    );
    const bytes = medmnistNpz(pathSplits, { compress: true });
    const path = write('pathmnist.npz', bytes.subarray(0, bytes.length - 40));
    const err = await formatErrorOf(() => loadMedMnist({ path, imageSize: 28 }));
    expect(err.file).toBe(path);
    expect(err.message).toMatch(/truncated/);
  });
});
