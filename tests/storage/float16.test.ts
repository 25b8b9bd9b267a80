import { describe, expect, it } from 'vitest';
import {
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToFloat16,
  float32ToFloat16Bits,
} from '../../shared/storage/float16.ts';

/** [float32 value, float16 bits]: the bits are numpy's and PyTorch's (make_fixtures.py printed them, both agree). */
const KNOWN: [name: string, value: number, bits: number][] = [
  ['+0', 0, 0x0000],
  ['-0', -0, 0x8000],
  ['1', 1, 0x3c00],
  ['-1', -1, 0xbc00],
  ['0.5', 0.5, 0x3800],
  ['2', 2, 0x4000],
  ['1024', 1024, 0x6400],
  ['largest half 65504', 65504, 0x7bff],
  ['65519.996 rounds down to 65504', 65519.99609375, 0x7bff],
  ['65520 (overflow tie) rounds to +inf', 65520, 0x7c00],
  ['1e6 overflows to +inf', 1e6, 0x7c00],
  ['-1e6 overflows to -inf', -1e6, 0xfc00],
  ['+inf', Infinity, 0x7c00],
  ['-inf', -Infinity, 0xfc00],
  ['NaN is the quiet NaN', NaN, 0x7e00],
  ['smallest normal 2^-14', 2 ** -14, 0x0400],
  ['1023.5 * 2^-24 ties to the even normal', 2 ** -14 - 2 ** -25, 0x0400],
  ['smallest subnormal 2^-24', 2 ** -24, 0x0001],
  ['-2^-24', -(2 ** -24), 0x8001],
  ['2^-25 ties to even +0', 2 ** -25, 0x0000],
  ['just above 2^-25 rounds up to 2^-24', 2 ** -25 * (1 + 2 ** -23), 0x0001],
  ['1.5 * 2^-24 ties to even 2', 3 * 2 ** -25, 0x0002],
  ['2.5 * 2^-24 ties to even 2', 5 * 2 ** -25, 0x0002],
  ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
  ['2^-30 underflows to +0', 2 ** -30, 0x0000],
  ['1e-10 underflows to +0', 1e-10, 0x0000],
  ['-1e-10 underflows to -0', -1e-10, 0x8000],
  ['1 + 2^-11 ties to even 1', 1 + 2 ** -11, 0x3c00],
  ['1 + 3 * 2^-11 ties to even 1 + 2^-9', 1 + 3 * 2 ** -11, 0x3c02],
  ['just above a tie rounds up', 1 + 2 ** -11 + 2 ** -23, 0x3c01],
  ['just below a tie rounds down', 1 + 2 ** -11 - 2 ** -23, 0x3c00],
  ['0.1', 0.1, 0x2e66],
  ['1/3', 1 / 3, 0x3555],
  ['-2.5e-6 (subnormal)', -2.5e-6, 0x802a],
  ['pi', 3.14159265, 0x4248],
  ['2047', 2047, 0x67ff],
  ['2049 ties to even 2048', 2049, 0x6800],
  ['4097 rounds to 4096', 4097, 0x6c00],
];

describe('float32 -> float16', () => {
  it.each(KNOWN)('%s', (_, value, bits) => {
    expect(float32ToFloat16Bits(value).toString(16)).toBe(bits.toString(16));
  });

  it('the array version agrees, bit for bit', () => {
    const halves = float32ArrayToFloat16(Float32Array.from(KNOWN, ([, v]) => v));
    expect(Array.from(halves)).toEqual(KNOWN.map(([, , b]) => b));
  });

  it('keeps the sign and the top payload bits of a NaN, and quiets it', () => {
    const nans = new Uint32Array([0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0xff8fe000]);
    const halves = float32ArrayToFloat16(new Float32Array(nans.buffer));
    expect(Array.from(halves, (h) => h.toString(16))).toEqual(['7e00', 'fe00', '7e00', '7f00', 'fe7f']);
  });
});

describe('float16 -> float32', () => {
  it('is exact on known patterns', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(float16BitsToFloat32(0x0400)).toBe(2 ** -14);
    expect(float16BitsToFloat32(0x3555)).toBe(0.333251953125);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
  });

  it('every one of the 65536 patterns converts back to itself (NaNs keep their bits)', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const back = float32ArrayToFloat16(float16ArrayToFloat32(all));
    const quieted = (h: number): number => ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0 ? h | 0x200 : h);
    const wrong = all.filter((h) => back[h] !== quieted(h));
    expect(wrong.length).toBe(0);
  });

  it('the array version agrees with the scalar one on every pattern', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, h) => h);
    const values = float16ArrayToFloat32(all);
    const wrong = all.filter((h) => !Object.is(values[h], Math.fround(float16BitsToFloat32(h))));
    expect(wrong.length).toBe(0);
  });
});
