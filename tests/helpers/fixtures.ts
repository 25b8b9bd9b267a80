import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A fixture array as written by scripts/reference/make_fixtures.py: flat row-major data with its shape. */
export interface FixtureArray {
  shape: number[];
  data: number[];
}

export function loadFixture<T>(name: string): T {
  const path = fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export const f32 = (a: FixtureArray): Float32Array => Float32Array.from(a.data);
