import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../shared/data/decode-image.ts';
import { loadDecodeFixtures } from './helpers/fixtures.ts';
import { formatError } from './helpers/expect-error.ts';
import { encodeImage } from './helpers/images.ts';

/**
 * Largest allowed |ours - PIL| per JPEG case. jpeg-js is not libjpeg-turbo: grayscale decodes identically here,
 * colour differs by YCbCr->RGB rounding (4:4:4) and, with 4:2:0 subsampling, by chroma upsampling (PIL's
 * "fancy" interpolation vs jpeg-js' replication), which is large only on pixel noise.
 */
const JPEG_BOUNDS: Record<string, number> = {
  'jpeg gray smooth': 0,
  'jpeg rgb smooth 4:4:4': 3,
  'jpeg rgb noisy 4:4:4': 4,
  'jpeg rgb smooth 4:2:0': 10,
  'jpeg rgb noisy 4:2:0': 64,
};

function maxDiff(a: Uint8Array, b: number[]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("decodeImage vs PIL Image.open(f).convert('RGB')", () => {
  for (const c of loadDecodeFixtures().cases) {
    const bytes = new Uint8Array(Buffer.from(c.file, 'base64'));
    if (c.name === 'png gray 16-bit') {
      it('throws for a 16-bit grayscale PNG (PIL would clip it at 255)', () => {
        const err = formatError(() => decodeImage(bytes, 'xray16.png'));
        expect(err.message).toBe(
          'xray16.png: expected an 8-bit PNG (PIL converts 16-bit grayscale to RGB by clipping at 255), found a 16-bit grayscale PNG; convert it to 8 bits first',
        );
      });
      continue;
    }
    const bound = c.name.startsWith('jpeg') ? JPEG_BOUNDS[c.name] : 0;
    it(`${c.name} (PIL mode ${c.pilMode}) within ${bound} levels`, () => {
      expect(bound).toBeDefined();
      const img = decodeImage(bytes, c.name);
      expect([img.height, img.width, 3]).toEqual(c.rgb.shape);
      expect(maxDiff(img.rgb, c.rgb.data)).toBeLessThanOrEqual(bound!);
    });
  }
});

describe('decodeImage validation', () => {
  it('throws when the bytes are neither PNG nor JPEG, whatever the extension', () => {
    const err = formatError(() => decodeImage(new TextEncoder().encode('just some text'), 'scan.png'));
    expect(err.message).toBe(
      'scan.png: expected a PNG or JPEG image, found a file starting with bytes 6a 75 73 74 20 73 6f 6d',
    );
    expect(formatError(() => decodeImage(new Uint8Array(0), 'empty.jpg')).message).toBe(
      'empty.jpg: expected a PNG or JPEG image, found an empty file',
    );
  });

  it('throws when a PNG is truncated', () => {
    const { bytes } = encodeImage('png-rgb', 16, 16, 1);
    const err = formatError(() => decodeImage(bytes.subarray(0, bytes.length - 30), 'cut.png'));
    expect(err.file).toBe('cut.png');
    expect(err.message).toMatch(/^cut\.png: expected a PNG or JPEG image \(a complete, valid PNG\), found /);
  });

  it('throws when a PNG chunk is corrupt (CRC)', () => {
    const { bytes } = encodeImage('png-gray', 8, 8, 2);
    const bad = bytes.slice();
    bad[40] = bad[40]! ^ 0xff; // inside IDAT
    expect(formatError(() => decodeImage(bad, 'crc.png')).message).toMatch(
      /^crc\.png: expected .*valid PNG\), found /,
    );
  });

  it('throws when a JPEG is truncated', () => {
    const { bytes } = encodeImage('jpeg', 16, 16, 3);
    const err = formatError(() => decodeImage(bytes.subarray(0, Math.floor(bytes.length / 2)), 'cut.jpg'));
    expect(err.message).toMatch(/^cut\.jpg: expected a PNG or JPEG image \(a complete, valid JPEG\), found /);
  });
});
