/** Small MedMNIST-format files (PathMNIST layout: 9 classes, 28x28 RGB) that tests write, change and break. */
import { writeFileSync } from 'node:fs';
import { medmnistNpz, pseudoRandomBytes } from '../data/helpers/npz-writer.ts';

const CLASSES = 9;

function split(perClass: number, seed: number) {
  const n = perClass * CLASSES;
  return {
    images: pseudoRandomBytes(n * 28 * 28 * 3, seed),
    imageShape: [n, 28, 28, 3],
    labels: Array.from({ length: n }, (_, i) => i % CLASSES),
  };
}

/** Writes a PathMNIST-like npz; a different `version` gives different image content. */
export function writePathmnist(path: string, version: number): void {
  writeFileSync(
    path,
    medmnistNpz({
      train: split(6, 100 + version),
      val: split(3, 200 + version),
      test: split(4, 300 + version),
    }),
  );
}
