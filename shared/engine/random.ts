/**
 * Seeded randomness with explicit, serialisable state, so that every draw of a run can be replayed and a
 * checkpoint can carry the generator (style.md section 5: randomness is explicit, split from the run seed).
 * Generator: xoshiro128** (32-bit, fast in JS); seeds are expanded with splitmix32.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number;
  /** The generator's state, to store in checkpoints. */
  state(): RngState;
}

export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A deterministic 32-bit seed from a root seed and a path of labels (expert k, stage s, iteration i ...). */
export function deriveSeed(root: number, ...path: (string | number)[]): number {
  let h = (root ^ 0x811c9dc5) >>> 0;
  for (const ch of path.join('/')) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return splitmix32(h)();
}

export function createRng(seedOrState: number | RngState): Rng {
  let s: number[];
  if (typeof seedOrState === 'number') {
    const sm = splitmix32(seedOrState);
    s = [sm(), sm(), sm(), sm()];
  } else {
    if (
      seedOrState.length !== 4 ||
      seedOrState.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff)
    ) {
      throw new Error(
        `createRng: expected a state of four uint32 values, got ${JSON.stringify(seedOrState)}`,
      );
    }
    s = [...seedOrState];
  }
  if (!s.some((v) => v !== 0)) s[0] = 1; // the all-zero state is a fixed point of xoshiro
  const nextU32 = (): number => {
    const [a, b, c, d] = s as [number, number, number, number];
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    let c2 = (c ^ a) >>> 0;
    let d2 = (d ^ b) >>> 0;
    const b2 = (b ^ c2) >>> 0;
    const a2 = (a ^ d2) >>> 0;
    c2 = (c2 ^ t) >>> 0;
    d2 = rotl(d2, 11);
    s = [a2, b2, c2, d2];
    return result;
  };
  return {
    next: () => nextU32() / 4294967296,
    int: (lo, hi) => lo + Math.floor((nextU32() / 4294967296) * (hi - lo + 1)),
    state: () => [...s] as RngState,
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Fisher-Yates permutation of 0..n-1 drawn from rng. */
export function permutation(n: number, rng: Rng): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
