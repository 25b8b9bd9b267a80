import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { datasetSpecSchema, loadDataset } from '../../shared/data/index.ts';
import { ContentHasher, splitCounts } from '../../shared/data/manifest.ts';
import { writeImage } from './helpers/images.ts';
import { medmnistNpz, pseudoRandomBytes } from './helpers/npz-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'dataset-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadDataset(spec)', () => {
  it('loads each kind through one entry point', async () => {
    const mnist = await loadDataset({ kind: 'mnist', maxTrainPerClass: 2, maxTestPerClass: 1 });
    expect([mnist.manifest.name, mnist.train.n, mnist.test.n]).toEqual(['mnist', 20, 10]);

    const path = join(dir, 'bloodmnist.npz');
    const split = (n: number) => ({
      images: pseudoRandomBytes(n * 28 * 28 * 3, n),
      imageShape: [n, 28, 28, 3],
      labels: Array.from({ length: n }, (_, i) => i % 8),
    });
    writeFileSync(path, medmnistNpz({ train: split(8), val: split(1), test: split(3) }, { compress: true }));
    const blood = await loadDataset({
      kind: 'medmnist',
      path,
      imageSize: 28,
      preprocess: { antialias: false },
    });
    expect(blood.manifest.name).toBe('bloodmnist');
    expect(blood.manifest.counts.train.perClass).toEqual(new Array(8).fill(1));
    expect(blood.manifest.preprocess.resize.antialias).toBe(false);

    const root = join(dir, 'folder');
    for (const split of ['train', 'test']) {
      for (const cls of ['b', 'a'])
        writeImage(join(root, split, cls, 'x.png'), 'png-gray', 6, 6, cls.charCodeAt(0));
    }
    const folder = await loadDataset({
      kind: 'image-folder',
      root,
      imageSize: 6,
      preprocess: { outputSize: [8, 8] },
    });
    expect(folder.manifest.classNames).toEqual(['a', 'b']);
    expect(folder.manifest.inputShape).toEqual([8, 8, 3]);
  });

  it('throws a ZodError for an invalid spec before touching any file', async () => {
    await expect(loadDataset({ kind: 'mnist', chanels: 3 } as never)).rejects.toThrow(ZodError);
    expect(datasetSpecSchema.safeParse({ kind: 'medmnist', path: 'p.npz', imageSize: 32 }).success).toBe(
      false,
    );
    expect(
      datasetSpecSchema.safeParse({ kind: 'medmnist', path: 'p.npz', imageSize: 64, name: 'foomnist' })
        .success,
    ).toBe(false);
    expect(datasetSpecSchema.safeParse({ kind: 'mnist', maxTrainPerClass: 0 }).success).toBe(false);
    expect(
      datasetSpecSchema.safeParse({ kind: 'image-folder', root: 'r', preprocess: { std: [0] } }).success,
    ).toBe(false);
    expect(
      datasetSpecSchema.safeParse({ kind: 'image-folder', root: 'r', imageSize: [299, 299] }).success,
    ).toBe(true);
  });
});

describe('manifest helpers', () => {
  it('hashes path, length and bytes of each file in order (checked against a direct sha256)', () => {
    const h = new ContentHasher();
    h.addFile('train/a.png', new Uint8Array([1, 2, 3]));
    h.addFile('b', new Uint8Array([]));
    const direct = createHash('sha256')
      .update('train/a.png\u00003\u0000')
      .update(new Uint8Array([1, 2, 3]))
      .update('b\u00000\u0000')
      .digest('hex');
    expect(h.fileCount).toBe(2);
    expect(h.digest()).toBe(direct);
  });

  it('changes the hash when a byte moves from one file to the next or a file is renamed', () => {
    const digest = (files: Array<[string, number[]]>) => {
      const h = new ContentHasher();
      for (const [p, b] of files) h.addFile(p, new Uint8Array(b));
      return h.digest();
    };
    const a = digest([
      ['x', [1, 2]],
      ['y', [3]],
    ]);
    expect(
      digest([
        ['x', [1]],
        ['y', [2, 3]],
      ]),
    ).not.toBe(a);
    expect(
      digest([
        ['x', [1, 2]],
        ['z', [3]],
      ]),
    ).not.toBe(a);
    expect(
      digest([
        ['x', [1, 2]],
        ['y', [3]],
      ]),
    ).toBe(a);
  });

  it('counts images per class', () => {
    expect(splitCounts(Int32Array.from([2, 0, 2, 2]), 4)).toEqual({ total: 4, perClass: [1, 0, 3, 0] });
  });
});
