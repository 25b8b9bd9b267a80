/**
 * Typed access to the committed PyTorch/PIL fixtures, validated with zod (they are JSON written by
 * scripts/data/*.py; a regenerated file with a different layout must fail here, not as NaNs in a test).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const array = z.object({ shape: z.array(z.int().nonnegative()), data: z.array(z.number()) });
const shape3 = z.tuple([z.int().positive(), z.int().positive(), z.int().positive()]);
const image = z.object({ shape: shape3, data: z.array(z.number()) });

const resizeDoc = z.object({
  versions: z.record(z.string(), z.string()),
  resize: z.array(
    z.object({
      name: z.string(),
      input: image,
      outputs: z.array(z.object({ antialias: z.boolean(), output: array })),
    }),
  ),
  transforms: z.array(
    z.object({
      preset: z.enum(['pathmnist', 'covid', 'mnist']),
      antialias: z.boolean(),
      encoding: z.enum(['uint8', 'unit-float']),
      outputSize: z.tuple([z.int(), z.int()]).optional(),
      input: image,
      output: array,
    }),
  ),
});

const decodeDoc = z.object({
  pillow: z.string(),
  cases: z.array(z.object({ name: z.string(), pilMode: z.string(), file: z.string(), rgb: array })),
});

const numpyDoc = z.object({
  numpy: z.string(),
  splits: z.record(
    z.enum(['train', 'val', 'test']),
    z.object({ labels: z.array(z.int()), pixelSums: z.array(z.int()), firstPixels: z.array(z.int()) }),
  ),
});

export function fixturePath(relativeToRepo: string): string {
  return fileURLToPath(new URL(`../../../${relativeToRepo}`, import.meta.url));
}

function load<T>(schema: z.ZodType<T>, relativeToRepo: string): T {
  return schema.parse(JSON.parse(readFileSync(fixturePath(relativeToRepo), 'utf8')));
}

export const loadResizeFixtures = () => load(resizeDoc, 'tests/fixtures/resize.json');
export const loadDecodeFixtures = () => load(decodeDoc, 'tests/fixtures/pil-decode.json');
export const loadNumpyFixture = () => load(numpyDoc, 'tests/fixtures/pathmnist_numpy.json');

/** Largest |a[i] - b[i]|, with b read as float32 (the fixtures store PyTorch float32 values). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - Math.fround(b[i]!)));
  return m;
}
