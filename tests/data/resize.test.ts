import { describe, expect, it } from 'vitest';
import { bicubicTaps, cubicKernel, makeResizePlan, resizeBicubic } from '../../shared/data/resize.ts';
import { loadResizeFixtures, maxAbsDiff } from './helpers/fixtures.ts';

// PyTorch float32 results vs ours (float64 accumulation, float32 output): rounding-level differences only.
const TOL = 1e-5;
const fixtures = loadResizeFixtures();

describe('bicubic resize vs PyTorch F.interpolate(mode=bicubic, align_corners=False)', () => {
  for (const c of fixtures.resize) {
    for (const { antialias, output } of c.outputs) {
      it(`${c.name} antialias=${antialias}`, () => {
        const [oh, ow] = output.shape;
        const y = resizeBicubic(Float32Array.from(c.input.data), c.input.shape, oh!, ow!, { antialias });
        expect(y.length).toBe(output.data.length);
        expect(maxAbsDiff(y, output.data)).toBeLessThan(TOL);
      });
    }
  }
});

describe('bicubic kernels', () => {
  it('uses a = -0.75 without antialias and a = -0.5 with it (PyTorch upsample_bicubic2d vs _aa)', () => {
    // At distance 1.5 the kernel equals a / 8, so its value identifies a.
    expect(cubicKernel(1.5, -0.75)).toBeCloseTo(-0.09375, 12);
    expect(cubicKernel(1.5, -0.5)).toBeCloseTo(-0.0625, 12);
    const up = bicubicTaps(28, 32, false);
    const k = up.start[5]!;
    expect(Array.from(up.weight.subarray(k, k + 4)).reduce((a, b) => a + b)).toBeCloseTo(1, 12);
  });

  for (const antialias of [false, true]) {
    it(`rows of taps sum to 1 for 299 -> 112 and 28 -> 32, antialias=${antialias}`, () => {
      for (const [a, b] of [
        [299, 112],
        [28, 32],
        [7, 3],
      ] as const) {
        const t = bicubicTaps(a, b, antialias);
        for (let o = 0; o < b; o++) {
          let s = 0;
          for (let k = t.start[o]!; k < t.start[o + 1]!; k++) s += t.weight[k]!;
          expect(s).toBeCloseTo(1, 12);
        }
      }
    });

    it(`keeps a constant image constant, antialias=${antialias}`, () => {
      const y = resizeBicubic(new Float32Array(13 * 11 * 3).fill(0.25), [13, 11, 3], 7, 17, { antialias });
      expect(maxAbsDiff(y, new Float32Array(y.length).fill(0.25))).toBeLessThan(1e-7);
    });
  }

  it('antialias changes upsampling too: 28 -> 32 differs between the two kernels', () => {
    const c = fixtures.resize.find((r) => r.name.startsWith('up 28x28x1'))!;
    const [off, on] = [c.outputs.find((o) => !o.antialias)!, c.outputs.find((o) => o.antialias)!];
    expect(maxAbsDiff(Float32Array.from(off.output.data), on.output.data)).toBeGreaterThan(0.05);
  });

  it('antialias widens the support when downsampling 299 -> 112 (every input pixel contributes)', () => {
    const plain = bicubicTaps(299, 112, false);
    const aa = bicubicTaps(299, 112, true);
    expect(plain.start[1]! - plain.start[0]!).toBe(4);
    expect(aa.start[56]! - aa.start[55]!).toBeGreaterThanOrEqual(10);
    const covered = new Set(aa.index);
    expect(covered.size).toBe(299);
  });

  it('throws when a size is not a positive integer', () => {
    expect(() => bicubicTaps(0, 4, false)).toThrow(RangeError);
    expect(() => bicubicTaps(4, 2.5, true)).toThrow(/positive integers/);
  });

  it('throws when the source does not match the plan', () => {
    const plan = makeResizePlan(4, 4, 2, 2, true);
    expect(plan.rows.outSize).toBe(2);
    expect(() => resizeBicubic(new Float32Array(10), [4, 4, 1], 2, 2, { antialias: true })).toThrow(
      /16|4x4x1/,
    );
  });
});
