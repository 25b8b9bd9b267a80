import { PNG } from 'pngjs';
import type { Normalisation } from '../../data/types.ts';

/**
 * One class's synthetic images as a PNG grid (near-square, `scale`x nearest upsampling like the reference's
 * wandb grids), de-normalised back to pixel values and clipped to [0, 1]. Grayscale is drawn as gray RGB.
 */
export function classGridPng(
  images: Float32Array,
  shape: [n: number, height: number, width: number, channels: number],
  rows: number[],
  norm: Normalisation,
  scale = 4,
): Uint8Array {
  const [, h, w, c] = shape;
  const cols = Math.ceil(Math.sqrt(rows.length));
  const gridRows = Math.ceil(rows.length / cols);
  const pad = 1;
  const png = new PNG({ width: cols * (w * scale + pad) + pad, height: gridRows * (h * scale + pad) + pad });
  png.data.fill(255);
  rows.forEach((row, t) => {
    const ox = pad + (t % cols) * (w * scale + pad);
    const oy = pad + Math.floor(t / cols) * (h * scale + pad);
    for (let i = 0; i < h * scale; i++) {
      for (let j = 0; j < w * scale; j++) {
        const src = ((row * h + Math.floor(i / scale)) * w + Math.floor(j / scale)) * c;
        const dst = ((oy + i) * png.width + ox + j) * 4;
        for (let k = 0; k < 3; k++) {
          const ch = c === 1 ? 0 : k;
          const v = images[src + ch]! * norm.std[ch]! + norm.mean[ch]!;
          png.data[dst + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
        png.data[dst + 3] = 255;
      }
    }
  });
  return new Uint8Array(PNG.sync.write(png));
}
