/**
 * PNG and JPEG decoding to 8-bit RGB, with the result of PIL's `Image.open(f).convert('RGB')`, which is what
 * torchvision's ImageFolder loader (`pil_loader`) returns for every file.
 *
 * PIL's rules, copied here (tests/data/decode-image.test.ts checks them against PIL itself):
 *   - grayscale is replicated to three channels; alpha is dropped, never composited;
 *   - a tRNS (transparent colour) chunk is ignored: the pixel keeps its colour;
 *   - 1-, 2- and 4-bit grayscale is scaled to 0..255 (x255, x85, x17); palettes are looked up;
 *   - 16-bit RGB(A) and gray+alpha keep the high byte of each sample;
 *   - 16-bit grayscale opens as mode I;16 and converts by clipping at 255 (not by scaling), which turns
 *     almost every X-ray white; we reject it rather than load that.
 * The format is recognised by its signature, not by the file name, as PIL does.
 *
 * JPEG goes through jpeg-js. Its IDCT and chroma upsampling are not libjpeg-turbo's, so pixels can differ from
 * PIL's by a few levels (the test states the bound); PNG is exact.
 */
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { DatasetFormatError, asFormatError } from './errors.ts';

export interface RgbImage {
  width: number;
  height: number;
  /** HWC, 3 channels, 0..255. */
  rgb: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const EXPECTED = 'a PNG or JPEG image';

export function decodeImage(bytes: Uint8Array, file: string): RgbImage {
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return decodePng(bytes, file);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return decodeJpeg(bytes, file);
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new DatasetFormatError(
    file,
    EXPECTED,
    bytes.length === 0 ? 'an empty file' : `a file starting with bytes ${head}`,
  );
}

function decodePng(bytes: Uint8Array, file: string): RgbImage {
  let png: ReturnType<typeof PNG.sync.read>;
  try {
    // skipRescale keeps 16-bit samples, so that PIL's high-byte rule can be applied instead of pngjs' rounding.
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (err) {
    throw asFormatError(file, `${EXPECTED} (a complete, valid PNG)`, err);
  }
  const meta = pngMetadata(png, file);
  const { width, height, depth, colorType } = meta;
  if (depth === 16 && colorType === 0) {
    throw new DatasetFormatError(
      file,
      'an 8-bit PNG (PIL converts 16-bit grayscale to RGB by clipping at 255)',
      'a 16-bit grayscale PNG; convert it to 8 bits first',
    );
  }
  const src: ArrayLike<number> = png.data; // a Uint16Array for 16-bit files (skipRescale)
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  const isGray = colorType === 0 || colorType === 4;
  const scale = sampleScale(colorType === 3 ? 8 : depth); // palette entries are already 8-bit
  // pngjs zeroes all four channels of pixels matching tRNS; PIL keeps their colour.
  const trans = colorType === 0 || colorType === 2 ? meta.transColor : undefined;
  for (let p = 0; p < n; p++) {
    const q = p * 4;
    for (let c = 0; c < 3; c++) {
      const from = isGray ? 0 : c;
      let v = src[q + from]!;
      if (trans !== undefined && src[q + 3] === 0) v = trans[from] ?? trans[0]!;
      rgb[p * 3 + c] = scale(v);
    }
  }
  return { width, height, rgb };
}

/** PIL's unpackers: low bit depths scale up by replication, 16-bit keeps the high byte. */
function sampleScale(depth: number): (v: number) => number {
  switch (depth) {
    case 1:
      return (v) => v * 255;
    case 2:
      return (v) => v * 85;
    case 4:
      return (v) => v * 17;
    case 16:
      return (v) => v >> 8;
    default:
      return (v) => v;
  }
}

/** The parser metadata pngjs puts on the object `PNG.sync.read` returns (not in @types/pngjs). */
interface PngMetadata {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  transColor?: number[];
}

function pngMetadata(png: object, file: string): PngMetadata {
  const num = (key: string): number => {
    const v: unknown = Reflect.get(png, key);
    if (typeof v !== 'number')
      throw new DatasetFormatError(file, `PNG metadata '${key}' from pngjs`, String(v));
    return v;
  };
  const trans: unknown = Reflect.get(png, 'transColor');
  const transColor =
    Array.isArray(trans) && trans.every((t): t is number => typeof t === 'number') ? trans : undefined;
  return {
    width: num('width'),
    height: num('height'),
    depth: num('depth'),
    colorType: num('colorType'),
    transColor,
  };
}

function decodeJpeg(bytes: Uint8Array, file: string): RgbImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    // tolerantDecoding would fill a truncated file with grey; PIL raises on it, and so do we.
    img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
  } catch (err) {
    throw asFormatError(file, `${EXPECTED} (a complete, valid JPEG)`, err);
  }
  const n = img.width * img.height;
  if (img.data.length !== n * 3) {
    throw new DatasetFormatError(file, `${n * 3} RGB bytes from the JPEG decoder`, `${img.data.length}`);
  }
  return { width: img.width, height: img.height, rgb: img.data };
}
