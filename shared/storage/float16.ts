/**
 * IEEE 754 binary16 <-> binary32 conversion for F16 safetensors (Node 20 has no Float16Array).
 *
 * float32 -> float16 rounds to nearest, ties to even, as PyTorch's `.half()` and numpy's `astype(float16)` do:
 * values from 65520 up overflow to +-Infinity, values below 2^-14 become subnormals (multiples of 2^-24) or +-0
 * (2^-25 itself is a tie and goes to the even 0), the sign of zero is kept, and NaN stays a quiet NaN with its
 * sign and the top bits of its payload (the canonical NaN gives 0x7e00, as in PyTorch). float16 -> float32 is
 * exact. The array versions work on bit patterns, so no value passes through a JavaScript number.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bit pattern nearest to `value` (a float32 value; a float64 one is first rounded to float32). */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  return halfFromSingleBits(u32[0]!);
}

/** The exact value of a float16 bit pattern. */
export function float16BitsToFloat32(h: number): number {
  u32[0] = singleBitsFromHalf(h);
  return f32[0]!;
}

export function float32ArrayToFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfFromSingleBits(bits[i]!);
  return out;
}

let table: Uint32Array | undefined;

export function float16ArrayToFloat32(halves: Uint16Array): Float32Array {
  table ??= Uint32Array.from({ length: 65536 }, (_, h) => singleBitsFromHalf(h));
  const out = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
  return new Float32Array(out.buffer);
}

function halfFromSingleBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13));
  const e = exponent - 127 + 15; // the float16 biased exponent
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // A subnormal result m * 2^-24, with m = (1.mantissa * 2^23) >> (14 - e), rounded half to even.
    const shift = 14 - e;
    if (shift > 24) return sign; // below half of 2^-24 (float32 subnormals included): +-0
    const significand = mantissa | 0x800000;
    const rest = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    let m = significand >>> shift;
    if (rest > halfway || (rest === halfway && (m & 1) === 1)) m++;
    return sign | m; // m === 0x400 is the smallest normal, which these same bits encode
  }
  let h = sign | (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent is right, up to Infinity
  return h;
}

function singleBitsFromHalf(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
  if (exponent !== 0) return (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0;
  // Subnormal half: normalise, m * 2^-24 = 1.f * 2^(p - 24) with p the position of m's top bit.
  const p = 31 - Math.clz32(mantissa);
  return (sign | ((p - 24 + 127) << 23) | ((mantissa << (23 - p)) & 0x7fffff)) >>> 0;
}
