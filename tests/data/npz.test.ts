import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { npyIntegers, parseNpy } from '../../shared/data/npy.ts';
import { openNpz } from '../../shared/data/npz.ts';
import { crc32, listZipEntries } from '../../shared/data/zip.ts';
import { fixturePath, loadNumpyFixture } from './helpers/fixtures.ts';
import { formatError } from './helpers/expect-error.ts';
import { encodeValues, npy, npyArray, pseudoRandomBytes, zip } from './helpers/npz-writer.ts';

const images = pseudoRandomBytes(4 * 5 * 6 * 3, 7);
const labels = [0, 8, 3, 5];

function archive(options: { compress?: boolean; zip64LocalHeaders?: boolean } = {}): Uint8Array {
  return zip(
    {
      'train_images.npy': npy('|u1', [4, 5, 6, 3], images),
      'train_labels.npy': npyArray('<i8', [4, 1], labels),
    },
    options,
  );
}

describe('npz reading', () => {
  for (const [name, options] of [
    ['stored', {}],
    ['deflate', { compress: true }],
    ['deflate with numpy zip64 local headers', { compress: true, zip64LocalHeaders: true }],
  ] as const) {
    it(`reads arrays back from a ${name} archive`, () => {
      const npz = openNpz(archive(options), 'a.npz');
      expect(npz.names).toEqual(['train_images', 'train_labels']);
      const img = npz.get('train_images');
      expect(img.dtype.name).toBe('uint8');
      expect(img.shape).toEqual([4, 5, 6, 3]);
      expect(img.data).toEqual(images);
      const lab = npz.get('train_labels');
      expect(lab.shape).toEqual([4, 1]);
      expect(npyIntegers(lab, 'x')).toEqual(labels);
    });
  }

  for (const file of ['pathmnist_numpy_compressed.npz', 'pathmnist_numpy_stored.npz']) {
    it(`reads numpy's own ${file} (np.savez${file.includes('compressed') ? '_compressed' : ''})`, () => {
      const expected = loadNumpyFixture();
      const npz = openNpz(new Uint8Array(readFileSync(fixturePath(`tests/fixtures/${file}`))), file);
      for (const [split, want] of Object.entries(expected.splits)) {
        const img = npz.get(`${split}_images`);
        expect(img.dtype.name).toBe('uint8');
        expect(img.shape).toEqual([want.labels.length, 28, 28, 3]);
        const per = 28 * 28 * 3;
        const sums = want.labels.map((_, i) =>
          img.data.subarray(i * per, (i + 1) * per).reduce((a, b) => a + b, 0),
        );
        expect(sums).toEqual(want.pixelSums);
        expect(Array.from(img.data.subarray(0, 12))).toEqual(want.firstPixels);
        const lab = npz.get(`${split}_labels`);
        expect(lab.dtype.name).toBe('uint8');
        expect(npyIntegers(lab, 'x')).toEqual(want.labels);
      }
    });
  }

  it('reads every integer label dtype, including big-endian and 64-bit', () => {
    for (const d of ['|u1', '|i1', '<u2', '<i2', '<i4', '<u4', '<i8', '<u8', '>i4'] as const) {
      const arr = parseNpy(npyArray(d, [3], [0, 5, 127]), `labels ${d}`);
      expect(npyIntegers(arr, d)).toEqual([0, 5, 127]);
    }
  });

  it('computes the zip CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('npz validation', () => {
  it('throws when the archive is truncated, naming the file', () => {
    const bytes = archive({ compress: true });
    const err = formatError(() =>
      listZipEntries(bytes.subarray(0, Math.floor(bytes.length * 0.6)), 'cut.npz'),
    );
    expect(err.file).toBe('cut.npz');
    expect(err.message).toMatch(/^cut\.npz: expected a zip archive .*found no such record .*truncated/);
  });

  it('throws when the central directory lies past the end of the file', () => {
    const bytes = archive();
    // Keep the end record (copied from the end) but drop bytes in the middle.
    const cut = new Uint8Array([...bytes.subarray(0, 200), ...bytes.subarray(bytes.length - 150)]);
    const err = formatError(() => openNpz(cut, 'short.npz'));
    expect(err.message).toMatch(
      /^short\.npz: expected a central directory of \d+ bytes at offset \d+, found a file of only 350 bytes/,
    );
  });

  it("throws when an entry's data runs past the end of the file, naming the member", () => {
    const bytes = archive();
    const view = new DataView(bytes.buffer);
    const cd = view.getUint32(bytes.length - 22 + 16, true);
    view.setUint32(cd + 20, 1_000_000, true); // first entry's compressed size
    const err = formatError(() => openNpz(bytes, 'big.npz').get('train_images'));
    expect(err.message).toMatch(
      /^big\.npz:train_images\.npy: expected 1000000 bytes of entry data ending at offset \d+, found a file of only \d+ bytes \(truncated\)$/,
    );
  });

  it('throws when a stored entry is corrupt (CRC mismatch), naming the member', () => {
    const bytes = archive();
    bytes[200] = bytes[200]! ^ 0xff; // inside train_images.npy's pixel data
    const err = formatError(() => openNpz(bytes, 'flip.npz').get('train_images'));
    expect(err.file).toBe('flip.npz:train_images.npy');
    expect(err.message).toMatch(
      /expected CRC-32 0x[0-9a-f]{8}, found 0x[0-9a-f]{8} \(the entry is corrupt\)/,
    );
  });

  it('throws when a deflate stream is corrupt', () => {
    const bytes = archive({ compress: true });
    for (let i = 80; i < 110; i++) bytes[i] = bytes[i]! ^ 0x5a;
    const err = formatError(() => openNpz(bytes, 'bad.npz').get('train_images'));
    expect(err.file).toBe('bad.npz:train_images.npy');
    expect(err.message).toMatch(/expected (a valid deflate stream|CRC-32|\d+ uncompressed bytes)/);
  });

  it('throws when the file is not a zip at all', () => {
    const err = formatError(() => openNpz(new TextEncoder().encode('hello, not an archive'), 'text.npz'));
    expect(err.message).toMatch(/text\.npz: expected a zip archive/);
  });

  it('throws when an array is missing, listing what is there', () => {
    const err = formatError(() => openNpz(archive(), 'a.npz').get('test_images'));
    expect(err.message).toBe(
      "a.npz: expected an array named 'test_images', found only [train_images, train_labels]",
    );
  });

  it('throws when a member is not an .npy array', () => {
    const err = formatError(() => parseNpy(new TextEncoder().encode('PK not npy'), 'a.npz:x.npy'));
    expect(err.message).toMatch(/^a\.npz:x\.npy: expected a \.npy array/);
  });

  it('throws when the .npy data is shorter than its header says', () => {
    const full = npyArray('|u1', [10, 3], new Array(30).fill(1));
    const err = formatError(() => parseNpy(full.subarray(0, full.length - 7), 'a.npz:x.npy'));
    expect(err.message).toBe(
      'a.npz:x.npy: expected 30 data bytes for uint8 shape (10, 3), found 23 bytes (truncated)',
    );
  });

  it('throws on Fortran order, structured dtypes and float labels', () => {
    expect(
      formatError(() => parseNpy(npy('|u1', [2, 2], new Uint8Array(4), { fortranOrder: true }), 'f')).message,
    ).toMatch(/expected a C-ordered array, found fortran_order True/);
    const structured = npy('', [2], new Uint8Array(8), {
      rawHeader: "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (2,), }",
    });
    expect(formatError(() => parseNpy(structured, 's')).message).toMatch(/expected a simple dtype/);
    const floats = parseNpy(npy('<f8', [2], encodeValues('<f8', [1, 2])), 'l');
    expect(formatError(() => npyIntegers(floats, 'l')).message).toBe(
      'l: expected integer labels (int8..int64 or uint8..uint64), found dtype float64',
    );
    expect(formatError(() => parseNpy(npy('<c16', [1], new Uint8Array(16)), 'c')).message).toMatch(
      /expected a numeric dtype .* found dtype '<c16'/,
    );
  });
});
