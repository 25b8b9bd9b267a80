/**
 * Compatibility with the real Python `safetensors` library: python.safetensors was written by
 * `safetensors.torch.save_file` (fixtures/make_fixtures.py); our decoder must read it exactly, and our encoder
 * must lay the same tensors out the same way. The reverse direction (Python loading our file) is
 * fixtures/check_ts_encoder.py, run by hand because it needs the Python environment.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { float16ArrayToFloat32, float32ArrayToFloat16 } from '../../shared/storage/float16.ts';
import {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsTensor,
} from '../../shared/storage/safetensors.ts';
import {
  F16_EDGES,
  I64_VALUES,
  METADATA,
  PYTHON_FIXTURE,
  pythonFixtureTensors,
} from './fixtures/python-fixture.ts';

const fileBytes = new Uint8Array(readFileSync(PYTHON_FIXTURE));
const decoded = decodeSafetensors(fileBytes, 'python.safetensors');
const expected = pythonFixtureTensors();

/** Bit patterns, so that -0 and NaN compare exactly. */
function bits(t: SafetensorsTensor | undefined): unknown[] {
  if (t === undefined) return ['missing'];
  const d = t.data;
  if (d instanceof Float32Array) return Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
  if (d instanceof Float64Array) return Array.from(new BigUint64Array(d.buffer, d.byteOffset, d.length));
  return Array.from(d as ArrayLike<unknown>);
}

function header(bytes: Uint8Array): { length: number; json: unknown } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) };
}

describe('reading a file written by Python safetensors.torch.save_file', () => {
  it('has the metadata and the tensor names', () => {
    expect(decoded.metadata).toEqual(METADATA);
    expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(['weight', 'specials', 'f16_source', 'doubles', 'counts', 'bytes', 'scalar', 'empty'])(
    '%s: dtype, shape and every bit',
    (name) => {
      const got = decoded.tensors[name];
      const want = expected[name]!;
      expect(got?.dtype).toBe(want.dtype);
      expect(got?.shape).toEqual(want.shape);
      expect(bits(got)).toEqual(bits(want as SafetensorsTensor));
    },
  );

  it('labels: I64 values beyond 2^53 and at both extremes, exactly', () => {
    const labels = decoded.tensors.labels!;
    expect(labels.dtype).toBe('I64');
    expect(labels.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(labels.data as BigInt64Array)).toEqual(I64_VALUES);
  });

  it("f16: PyTorch's float32 -> float16 rounding equals ours on every edge case", () => {
    const f16 = decoded.tensors.f16!;
    const source = decoded.tensors.f16_source!.data as Float32Array;
    expect(f16.dtype).toBe('F16');
    expect(f16.data).toBeInstanceOf(Float32Array);
    const ours = float16ArrayToFloat32(float32ArrayToFloat16(source));
    const mismatches = Array.from(f16.data as Float32Array)
      .map((v, i) => ({ i, source: source[i], torch: v, ours: ours[i] }))
      .filter(({ torch, ours: o }) => !Object.is(torch, o));
    expect(mismatches).toEqual([]);
    // A few read directly, independent of our rounding code.
    const at = (v: number) => (f16.data as Float32Array)[F16_EDGES.indexOf(v)];
    expect(at(65520)).toBe(Infinity);
    expect(at(2 ** -25)).toBe(0);
    expect(at(3 * 2 ** -25)).toBe(2 ** -23);
    expect(at(0.1)).toBe(0.0999755859375);
  });

  it('our encoder lays the same tensors out as save_file does (data bytes identical)', () => {
    const ours = encodeSafetensors(expected, METADATA);
    const theirs = header(fileBytes);
    const mine = header(ours);
    expect(mine.length).toBe(theirs.length);
    // The Rust library writes metadata in HashMap order (it varies between runs); the parsed headers are equal.
    expect(mine.json).toEqual(theirs.json);
    expect(ours.length).toBe(fileBytes.length);
    expect(Buffer.compare(ours.subarray(8 + mine.length), fileBytes.subarray(8 + theirs.length))).toBe(0);
    // Tensor entries come in the same order (by dtype, then name), so the text after the metadata is identical.
    const tail = (b: Uint8Array, n: number) =>
      new TextDecoder().decode(b.subarray(8, 8 + n)).replace(/^\{"__metadata__":\{[^}]*\},/, '');
    expect(tail(ours, mine.length)).toBe(tail(fileBytes, theirs.length));
  });
});
