import { describe, expect, it } from 'vitest';
import { createRng, deriveSeed, permutation } from '../../shared/engine/random.ts';
import { sampleAugDraw, DSA_FAMILIES, validateAugDraw } from '../../shared/engine/dsa/draws.ts';

describe('seeded randomness', () => {
  it('replays exactly from a seed and from a saved state', () => {
    const a = createRng(42);
    a.next();
    const saved = a.state();
    const rest = Array.from({ length: 5 }, a.next);
    const b = createRng(saved);
    expect(Array.from({ length: 5 }, b.next)).toEqual(rest);
    expect(Array.from({ length: 3 }, createRng(42).next)).not.toEqual(
      Array.from({ length: 3 }, createRng(43).next),
    );
  });

  it('draws uniform values in [0,1) and integers in the inclusive range', () => {
    const r = createRng(1);
    const xs = Array.from({ length: 20000 }, r.next);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
    const ints = new Set(Array.from({ length: 2000 }, () => r.int(-4, 4)));
    expect([...ints].sort((p, q) => p - q)).toEqual([-4, -3, -2, -1, 0, 1, 2, 3, 4]);
  });

  it('derives distinct, stable seeds per path', () => {
    expect(deriveSeed(0, 'expert', 1)).toBe(deriveSeed(0, 'expert', 1));
    expect(deriveSeed(0, 'expert', 1)).not.toBe(deriveSeed(0, 'expert', 2));
    expect(permutation(10, createRng(3)).sort((p, q) => p - q)).toEqual([...Array(10).keys()]);
  });

  it('throws when a saved state is malformed', () => {
    expect(() => createRng([1, 2, 3] as never)).toThrow(/four uint32 values/);
  });
});

describe('DSA draws (method.md section D)', () => {
  it('follows the reference distributions at 32 px', () => {
    const rng = createRng(5);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const d = sampleAugDraw(rng, 4, 32, 32);
      seen.add(d.family);
      validateAugDraw(d, 4);
      if (d.family === 'crop')
        expect([...d.tx, ...d.ty].every((v) => Number.isInteger(v) && v >= -4 && v <= 4)).toBe(true);
      if (d.family === 'cutout')
        expect([...d.ox, ...d.oy].every((v) => Number.isInteger(v) && v >= 0 && v <= 32)).toBe(true);
      if (d.family === 'scale') expect([...d.sx, ...d.sy].every((v) => v >= 1 / 1.2 && v < 1.2)).toBe(true);
      if (d.family === 'rotate') expect(d.angle.every((v) => Math.abs(v) < (15 * Math.PI) / 180)).toBe(true);
    }
    expect([...seen].sort()).toEqual([...DSA_FAMILIES].sort());
  });

  it('throws when a replayed draw does not fit the batch', () => {
    expect(() => validateAugDraw({ family: 'flip', flip: [true] }, 3)).toThrow(
      "DSA flip: expected 'flip' to have one entry per image (3), got 1",
    );
  });
});
