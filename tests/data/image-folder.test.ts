import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadImageFolder } from '../../shared/data/image-folder.ts';
import { preprocessImage } from '../../shared/data/preprocess.ts';
import { formatErrorOf } from './helpers/expect-error.ts';
import { encodeImage, writeFile, writeImage, type ImageKind } from './helpers/images.ts';

const base = mkdtempSync(join(tmpdir(), 'image-folder-test-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let roots = 0;

// The Kaggle COVID-19 Radiography class names; sorted by code point they are indexed 0..3 in this order.
const CLASSES = ['COVID', 'Lung_Opacity', 'Normal', 'Viral Pneumonia'];
const H = 10;
const W = 12;

interface Layout {
  [split: string]: { [cls: string]: Array<[file: string, kind: ImageKind]> };
}

const GOOD: Layout = {
  train: {
    // Written in non-sorted order on purpose.
    'Viral Pneumonia': [
      ['v2.png', 'png-gray'],
      ['v1.png', 'png-gray'],
    ],
    Normal: [
      ['n1.jpeg', 'jpeg'],
      ['n0.PNG', 'png-rgba'],
    ],
    COVID: [
      ['c1.png', 'png-gray'],
      ['c0.png', 'png-rgb'],
      ['c2.jpg', 'jpeg'],
    ],
    Lung_Opacity: [['l0.png', 'png-gray']],
  },
  test: {
    COVID: [['t0.png', 'png-gray']],
    Lung_Opacity: [['t1.png', 'png-gray']],
    Normal: [['t2.png', 'png-gray']],
    'Viral Pneumonia': [['t3.png', 'png-gray']],
  },
};

/** Writes `layout` under a fresh root; returns the root and the expected RGB pixels of each PNG by path. */
function makeRoot(layout: Layout, size: (file: string) => [number, number] = () => [H, W]) {
  const root = join(base, `root${roots++}`);
  const pixels = new Map<string, Uint8Array>();
  let seed = 1;
  for (const [split, classes] of Object.entries(layout)) {
    for (const [cls, files] of Object.entries(classes)) {
      mkdirSync(join(root, split, cls), { recursive: true });
      for (const [file, kind] of files) {
        const path = join(root, split, cls, file);
        const [h, w] = size(file);
        pixels.set(path, writeImage(path, kind, h, w, seed++));
      }
    }
  }
  return { root, pixels };
}

describe('image-folder loader (torchvision ImageFolder layout)', () => {
  it('indexes classes in sorted order and files in sorted order, with a manifest', async () => {
    const { root } = makeRoot(GOOD);
    const ds = await loadImageFolder({ root, name: 'covid-toy' });
    expect(ds.manifest.classNames).toEqual(CLASSES);
    expect(Array.from(ds.train.labels)).toEqual([0, 0, 0, 1, 2, 2, 3, 3]);
    expect(Array.from(ds.test.labels)).toEqual([0, 1, 2, 3]);
    expect([ds.train.n, ds.train.height, ds.train.width, ds.train.channels]).toEqual([8, 112, 112, 3]);

    const m = ds.manifest;
    expect(m.name).toBe('covid-toy');
    expect(m.source).toEqual({ format: 'image-folder', location: root });
    expect(m.counts.train).toEqual({ total: 8, perClass: [3, 1, 2, 2] });
    expect(m.counts.test).toEqual({ total: 4, perClass: [1, 1, 1, 1] });
    expect(m.rawShape).toEqual([H, W, 3]);
    expect(m.inputShape).toEqual([112, 112, 3]);
    expect(m.preprocess).toEqual({
      normalisation: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      resize: { method: 'bicubic', height: 112, width: 112, antialias: true, a: -0.5 },
    });
    expect(m.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('expands grayscale to three identical channels and drops alpha before the transform (PNG is exact)', async () => {
    const { root, pixels } = makeRoot(GOOD);
    const ds = await loadImageFolder({ root, preprocess: { outputSize: [6, 5] } });
    const out = 6 * 5 * 3;
    // train order: COVID c0 (rgb), c1 (gray), c2 (jpeg); Lung_Opacity l0; Normal n0.PNG (rgba), n1; ...
    for (const [k, path] of [
      [0, join(root, 'train', 'COVID', 'c0.png')],
      [1, join(root, 'train', 'COVID', 'c1.png')],
      [4, join(root, 'train', 'Normal', 'n0.PNG')],
    ] as const) {
      const rgb = pixels.get(path)!;
      const want = preprocessImage(rgb, [H, W, 3], 'uint8', ds.manifest.preprocess);
      expect(ds.train.images.subarray(k * out, (k + 1) * out)).toEqual(want);
    }
    const gray = pixels.get(join(root, 'train', 'COVID', 'c1.png'))!;
    for (let p = 0; p < H * W; p++) expect(gray[p * 3]).toBe(gray[p * 3 + 2]);
  });

  it('holds out the last floor(n x valFraction) train images of each class as val (default 0.1: none in tiny folders)', async () => {
    const { root } = makeRoot(GOOD);
    const all = await loadImageFolder({ root, preprocess: { outputSize: [6, 5] }, valFraction: 0 });
    const half = await loadImageFolder({ root, preprocess: { outputSize: [6, 5] }, valFraction: 0.5 });
    // Train per class [3, 1, 2, 2] -> val [1, 0, 1, 1], the last file of each class in sorted order.
    expect(Array.from(half.train.labels)).toEqual([0, 0, 1, 2, 3]);
    expect(Array.from(half.val!.labels)).toEqual([0, 2, 3]);
    expect(half.manifest.counts.val).toEqual({ total: 3, perClass: [1, 0, 1, 1] });
    expect(half.manifest.splitRule).toMatch(/val: the last floor\(n x 0.5\) train images of each class/);
    const out = 6 * 5 * 3;
    const rowOf = (set: typeof all.train, k: number) =>
      Array.from(set.images.subarray(k * out, (k + 1) * out));
    expect(rowOf(half.val!, 0)).toEqual(rowOf(all.train, 2));
    expect(rowOf(half.val!, 1)).toEqual(rowOf(all.train, 5));
    expect(rowOf(half.train, 3)).toEqual(rowOf(all.train, 4));
    expect(all.val).toBeUndefined();
    const byDefault = await loadImageFolder({ root, preprocess: { outputSize: [6, 5] } });
    expect(byDefault.val).toBeUndefined();
    expect(byDefault.manifest.splitRule).toMatch(/none here/);
  });

  it('ignores hidden files and folders', async () => {
    const { root } = makeRoot(GOOD);
    writeFile(join(root, 'train', 'COVID', '.DS_Store'), 'finder junk');
    mkdirSync(join(root, 'test', '.ipynb_checkpoints'));
    const ds = await loadImageFolder({ root });
    expect(ds.manifest.classNames).toEqual(CLASSES);
    expect(ds.train.n).toBe(8);
  });

  it('accepts an explicit imageSize that matches', async () => {
    const { root } = makeRoot(GOOD);
    const ds = await loadImageFolder({ root, imageSize: [H, W], preprocess: { outputSize: [4, 4] } });
    expect(ds.manifest.rawShape).toEqual([H, W, 3]);
  });

  it('gives a stable content hash that changes with a byte or a file name', async () => {
    const { root } = makeRoot(GOOD);
    const opts = { root, preprocess: { outputSize: [4, 4] as [number, number] } };
    const a = (await loadImageFolder(opts)).manifest.contentHash;
    expect((await loadImageFolder(opts)).manifest.contentHash).toBe(a);

    const path = join(root, 'test', 'Normal', 't2.png');
    writeFile(path, encodeImage('png-gray', H, W, 999).bytes);
    const b = (await loadImageFolder(opts)).manifest.contentHash;
    expect(b).not.toBe(a);

    renameSync(path, join(root, 'test', 'Normal', 't2-renamed.png'));
    expect((await loadImageFolder(opts)).manifest.contentHash).not.toBe(b);
  });
});

describe('image-folder validation', () => {
  it('throws when a class folder is empty', async () => {
    const { root } = makeRoot(GOOD);
    rmSync(join(root, 'test', 'Lung_Opacity'), { recursive: true });
    mkdirSync(join(root, 'test', 'Lung_Opacity'));
    const err = await formatErrorOf(() => loadImageFolder({ root }));
    expect(err.message).toBe(
      `${join(root, 'test', 'Lung_Opacity')}: expected at least one image (.png, .jpg, .jpeg) in the class folder, found none`,
    );
  });

  it('throws when image sizes are mixed, naming the odd file and the first one', async () => {
    const { root } = makeRoot(GOOD, (file) => (file === 'l0.png' ? [W, H] : [H, W]));
    const err = await formatErrorOf(() => loadImageFolder({ root }));
    const odd = join(root, 'train', 'Lung_Opacity', 'l0.png');
    const first = join(root, 'train', 'COVID', 'c0.png');
    expect(err.message).toBe(
      `${odd}: expected a 10x12 image (height x width, as the first image, ${first}; every image must have the same size), found 12x10`,
    );
  });

  it('throws when the images do not have the given imageSize', async () => {
    const { root } = makeRoot(GOOD);
    const err = await formatErrorOf(() => loadImageFolder({ root, imageSize: 299 }));
    expect(err.message).toMatch(
      /c0\.png: expected a 299x299 image \(height x width, as imageSize; .*found 10x12$/,
    );
  });

  it('throws when a class folder holds a non-image file', async () => {
    const { root } = makeRoot(GOOD);
    writeFile(join(root, 'train', 'Normal', 'notes.txt'), 'not an image');
    const err = await formatErrorOf(() => loadImageFolder({ root }));
    expect(err.message).toBe(
      `${join(root, 'train', 'Normal', 'notes.txt')}: expected an image file (.png, .jpg, .jpeg), found 'notes.txt'`,
    );
  });

  it('throws when an image file is truncated or is not an image', async () => {
    const { root } = makeRoot(GOOD);
    const path = join(root, 'train', 'COVID', 'c1.png');
    writeFile(path, encodeImage('png-gray', H, W, 5).bytes.subarray(0, 60));
    const err = await formatErrorOf(() => loadImageFolder({ root }));
    expect(err.file).toBe(path);
    expect(err.message).toMatch(/expected a PNG or JPEG image \(a complete, valid PNG\), found /);

    writeFile(path, 'hello');
    expect((await formatErrorOf(() => loadImageFolder({ root }))).message).toBe(
      `${path}: expected a PNG or JPEG image, found a file starting with bytes 68 65 6c 6c 6f`,
    );
  });

  it('throws when a JPEG is truncated', async () => {
    const { root } = makeRoot(GOOD);
    const path = join(root, 'train', 'COVID', 'c2.jpg');
    const bytes = encodeImage('jpeg', H, W, 6).bytes;
    writeFile(path, bytes.subarray(0, bytes.length - 80));
    const err = await formatErrorOf(() => loadImageFolder({ root }));
    expect(err.file).toBe(path);
    expect(err.message).toMatch(/valid JPEG\), found /);
  });

  it('throws when test has different classes than train', async () => {
    const { root } = makeRoot(GOOD);
    rmSync(join(root, 'test', 'Normal'), { recursive: true });
    const err = await formatErrorOf(() => loadImageFolder({ root }));
    expect(err.message).toBe(
      `${join(root, 'test')}: expected the same class folders as train/ [COVID, Lung_Opacity, Normal, Viral Pneumonia], found [COVID, Lung_Opacity, Viral Pneumonia]`,
    );
  });

  it('throws on nested folders (the Kaggle release keeps masks/ beside images/)', async () => {
    const { root } = makeRoot(GOOD);
    writeImage(join(root, 'train', 'COVID', 'masks', 'm0.png'), 'png-gray', H, W, 7);
    const err = await formatErrorOf(() => loadImageFolder({ root }));
    expect(err.message).toBe(
      `${join(root, 'train', 'COVID', 'masks')}: expected only image files in class folder ${join(root, 'train', 'COVID')}, found a nested folder`,
    );
  });

  it('throws when a split folder is missing or holds loose files', async () => {
    const { root } = makeRoot(GOOD);
    writeFile(join(root, 'train', 'stray.png'), encodeImage('png-gray', H, W, 8).bytes);
    expect((await formatErrorOf(() => loadImageFolder({ root }))).message).toBe(
      `${join(root, 'train', 'stray.png')}: expected only class folders in ${join(root, 'train')}, found a file`,
    );
    unlinkSync(join(root, 'train', 'stray.png'));
    rmSync(join(root, 'test'), { recursive: true });
    expect((await formatErrorOf(() => loadImageFolder({ root }))).message).toBe(
      `${join(root, 'test')}: expected a folder with one sub-folder per class (ImageFolder layout), found nothing at that path`,
    );
  });
});
