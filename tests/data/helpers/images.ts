/** Writes small PNG (pngjs) and JPEG (jpeg-js) files for the image-folder tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { pseudoRandomBytes } from './npz-writer.ts';

export type ImageKind = 'png-gray' | 'png-rgb' | 'png-rgba' | 'jpeg';

/** Encodes a pseudo-random image; returns the bytes and, for PNG, the RGB pixels PIL's convert('RGB') gives. */
export function encodeImage(
  kind: ImageKind,
  height: number,
  width: number,
  seed: number,
): { bytes: Uint8Array; rgb: Uint8Array } {
  const n = height * width;
  const noise = pseudoRandomBytes(n * 4, seed);
  const rgba = new Uint8Array(n * 4);
  const rgb = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 4; c++)
      rgba[p * 4 + c] = kind === 'png-gray' && c < 3 ? noise[p * 4]! : noise[p * 4 + c]!;
    if (kind !== 'png-rgba') rgba[p * 4 + 3] = 255;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = rgba[p * 4 + c]!;
  }
  if (kind === 'jpeg') {
    const bytes = jpeg.encode({ data: rgba, width, height }, 90).data;
    return { bytes: new Uint8Array(bytes), rgb };
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba);
  const colorType = kind === 'png-gray' ? 0 : kind === 'png-rgb' ? 2 : 6;
  return {
    bytes: new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true })),
    rgb,
  };
}

export function writeFile(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

export function writeImage(
  path: string,
  kind: ImageKind,
  height: number,
  width: number,
  seed: number,
): Uint8Array {
  const { bytes, rgb } = encodeImage(kind, height, width, seed);
  writeFile(path, bytes);
  return rgb;
}
