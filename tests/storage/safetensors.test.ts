import { describe, expect, it } from 'vitest';
import {
  SafetensorsFormatError,
  decodeSafetensors,
  encodeSafetensors,
  int64ToNumbers,
  type EncodableTensor,
} from '../../shared/storage/safetensors.ts';

/** A raw file: an 8-byte length, then the header text as given (no padding unless included), then the data. */
function rawFile(
  header: string | object,
  data: Uint8Array = new Uint8Array(0),
  declaredLength?: bigint,
): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function headerOf(bytes: Uint8Array): { length: number; text: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, text: new TextDecoder().decode(bytes.subarray(8, 8 + length)) };
}

/** A file whose header holds the byte 0xff, which UTF-8 never uses. */
function notUtf8Header(): Uint8Array {
  const file = rawFile('{"a":"?"}');
  file[8 + 6] = 0xff;
  return file;
}

const u8 = (n: number): Uint8Array => new Uint8Array(n);
const bitsOf = (a: Float32Array | Float64Array): number[] | bigint[] =>
  a instanceof Float32Array
    ? Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length))
    : Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.length));

describe('safetensors round trips', () => {
  const cases: [string, EncodableTensor][] = [
    [
      'F32 [2, 3] with -0, NaN, +-Infinity and a subnormal',
      { dtype: 'F32', shape: [2, 3], data: Float32Array.from([-0, NaN, Infinity, -Infinity, 1e-45, 3.5]) },
    ],
    ['F64 [3]', { dtype: 'F64', shape: [3], data: Float64Array.from([1 / 3, -1e300, 5e-324]) }],
    [
      'F16 [2, 2] of exactly representable values',
      { dtype: 'F16', shape: [2, 2], data: Float32Array.from([1, -0.5, 65504, 2 ** -24]) },
    ],
    ['I32 [3] extremes', { dtype: 'I32', shape: [3], data: Int32Array.from([-(2 ** 31), 0, 2 ** 31 - 1]) }],
    [
      'I64 [4] beyond 2^53',
      {
        dtype: 'I64',
        shape: [4],
        data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, 0n]),
      },
    ],
    [
      'U8 [16, 16] of every byte',
      { dtype: 'U8', shape: [16, 16], data: Uint8Array.from({ length: 256 }, (_, i) => i) },
    ],
    ['F32 scalar []', { dtype: 'F32', shape: [], data: Float32Array.from([2.5]) }],
    ['F32 [0, 4] (no elements)', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
    ['U8 [1, 3, 1] (odd size)', { dtype: 'U8', shape: [1, 3, 1], data: Uint8Array.from([1, 2, 3]) }],
  ];

  it.each(cases)('%s', (_, tensor) => {
    const decoded = decodeSafetensors(encodeSafetensors({ t: tensor }), 'mem.safetensors');
    const t = decoded.tensors.t!;
    expect(t.dtype).toBe(tensor.dtype);
    expect(t.shape).toEqual(tensor.shape);
    expect(t.data.constructor).toBe(tensor.data.constructor);
    if (t.data instanceof Float32Array || t.data instanceof Float64Array) {
      expect(bitsOf(t.data)).toEqual(bitsOf(tensor.data as Float32Array | Float64Array));
    } else {
      expect(Array.from(t.data as ArrayLike<number | bigint>)).toEqual(
        Array.from(tensor.data as ArrayLike<number | bigint>),
      );
    }
    expect(decoded.metadata).toEqual({});
  });

  it('I64 from numbers that are safe integers decodes to a BigInt64Array; int64ToNumbers converts back', () => {
    const values = [0, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 7];
    const { tensors } = decodeSafetensors(
      encodeSafetensors({ labels: { dtype: 'I64', shape: [5], data: values } }),
      'x',
    );
    const labels = tensors.labels!;
    expect(labels.data).toBeInstanceOf(BigInt64Array);
    expect(int64ToNumbers(labels.data as BigInt64Array, 'x', 'labels')).toEqual(values);
  });

  it('int64ToNumbers refuses values beyond 2^53, naming the tensor', () => {
    expect(() =>
      int64ToNumbers(BigInt64Array.from([1n, 2n ** 53n + 1n]), 'ckpt.safetensors', 'labels'),
    ).toThrow(
      'ckpt.safetensors: expected tensor "labels" to hold safe integers (|v| < 2^53), found 9007199254740993 at element 1',
    );
  });

  it('F16 rounds float32 input to nearest even on the way in', () => {
    const { tensors } = decodeSafetensors(
      encodeSafetensors({ h: { dtype: 'F16', shape: [3], data: Float32Array.from([0.1, 65520, 2 ** -25]) } }),
      'x',
    );
    expect(Array.from(tensors.h!.data as Float32Array)).toEqual([0.0999755859375, Infinity, 0]);
  });

  it('round-trips several tensors with metadata (unicode included)', () => {
    const tensors: Record<string, EncodableTensor> = {
      'conv1.weight': { dtype: 'F32', shape: [2, 1, 1, 1], data: Float32Array.from([1, 2]) },
      labels: { dtype: 'I32', shape: [2], data: Int32Array.from([3, 4]) },
      mask: { dtype: 'U8', shape: [1], data: Uint8Array.from([1]) },
    };
    const metadata = { state: '{"iteration":3}', note: 'é ✓', '': 'empty key' };
    const decoded = decodeSafetensors(encodeSafetensors(tensors, metadata), 'x');
    expect(Object.keys(decoded.tensors).sort()).toEqual(['conv1.weight', 'labels', 'mask']);
    expect(decoded.metadata).toEqual(metadata);
  });

  it('decodes from an unaligned view and returns arrays that own their memory', () => {
    const file = encodeSafetensors({
      m: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) },
      d: { dtype: 'F64', shape: [2], data: Float64Array.from([1.5, -2]) },
    });
    const backing = new Uint8Array(file.length + 3);
    backing.set(file, 3);
    const view = backing.subarray(3);
    const { tensors } = decodeSafetensors(view, 'unaligned');
    const d = tensors.d!.data as Float64Array;
    expect(Array.from(d)).toEqual([1.5, -2]);
    expect(d.byteOffset).toBe(0);
    expect(d.buffer).not.toBe(backing.buffer);
    (tensors.m!.data as Uint8Array)[0] = 99;
    expect(decodeSafetensors(view, 'again').tensors.m!.data).toEqual(Uint8Array.from([1, 2, 3]));
  });
});

describe('safetensors layout (as the Rust/Python library writes it)', () => {
  it('pads the header with spaces to 8 bytes, orders tensors by dtype then name, and packs offsets', () => {
    const file = encodeSafetensors(
      {
        z_u8: { dtype: 'U8', shape: [1], data: Uint8Array.from([1]) },
        b_f16: { dtype: 'F16', shape: [1], data: Float32Array.from([1]) },
        a_i32: { dtype: 'I32', shape: [1], data: Int32Array.from([1]) },
        Z_f32: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) },
        d_f32: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) },
        c_f64: { dtype: 'F64', shape: [1], data: Float64Array.from([1]) },
        e_i64: { dtype: 'I64', shape: [1], data: [1] },
      },
      { z: '1', format: 'pt' },
    );
    const { length, text } = headerOf(file);
    expect(length % 8).toBe(0);
    expect(text).toBe(
      '{"__metadata__":{"format":"pt","z":"1"},' +
        '"e_i64":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},' +
        '"c_f64":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},' +
        '"Z_f32":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},' +
        '"d_f32":{"dtype":"F32","shape":[1],"data_offsets":[20,24]},' +
        '"a_i32":{"dtype":"I32","shape":[1],"data_offsets":[24,28]},' +
        '"b_f16":{"dtype":"F16","shape":[1],"data_offsets":[28,30]},' +
        '"z_u8":{"dtype":"U8","shape":[1],"data_offsets":[30,31]}}' +
        ' '.repeat(length - text.trimEnd().length),
    );
    expect(file.length).toBe(8 + length + 31);
  });

  it('writes no __metadata__ without metadata, and an empty file for no tensors', () => {
    expect(
      headerOf(encodeSafetensors({ a: { dtype: 'F32', shape: [1], data: Float32Array.from([1]) } })).text,
    ).toBe('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}  ');
    const empty = encodeSafetensors({});
    expect(headerOf(empty).text).toBe('{}      ');
    expect(decodeSafetensors(empty, 'empty')).toEqual({ tensors: {}, metadata: {} });
  });

  it('keeps integer-like tensor names in layout order (no JavaScript key reordering)', () => {
    const one = (v: number) => ({ dtype: 'F32' as const, shape: [1], data: Float32Array.from([v]) });
    const { text } = headerOf(encodeSafetensors({ b: one(1), '10': one(2), '2': one(3) }));
    expect(text.indexOf('"10"')).toBeLessThan(text.indexOf('"2"'));
    expect(text.indexOf('"2"')).toBeLessThan(text.indexOf('"b"'));
  });
});

describe('encodeSafetensors refuses inconsistent input, naming the tensor', () => {
  const bad: [string, Record<string, EncodableTensor>, string][] = [
    [
      'data of the wrong type',
      { w: { dtype: 'F32', shape: [2], data: Float64Array.from([1, 2]) as unknown as Float32Array } },
      'encodeSafetensors: tensor "w": dtype F32 needs Float32Array data, got Float64Array',
    ],
    [
      'F16 from raw bits',
      { h: { dtype: 'F16', shape: [1], data: Uint16Array.from([0x3c00]) as unknown as Float32Array } },
      'dtype F16 needs Float32Array (float32 values, rounded to float16) data, got Uint16Array',
    ],
    [
      'a length that does not match the shape',
      { w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } },
      'encodeSafetensors: tensor "w": shape [2, 3] has 6 elements, but data has 5',
    ],
    [
      'a negative dimension',
      { w: { dtype: 'F32', shape: [-1], data: new Float32Array(0) } },
      'shape [-1] must be an array of integers >= 0',
    ],
    [
      'a fractional dimension',
      { w: { dtype: 'F32', shape: [1.5], data: new Float32Array(1) } },
      'shape [1.5] must be an array of integers >= 0',
    ],
    [
      'an unknown dtype',
      { w: { dtype: 'BF16', shape: [1], data: new Float32Array(1) } as unknown as EncodableTensor },
      'dtype "BF16" is not one of U8, F16, I32, F32, F64, I64',
    ],
    [
      'an unsafe I64 number',
      { l: { dtype: 'I64', shape: [2], data: [1, 2 ** 53] } },
      'encodeSafetensors: tensor "l": I64 element 1 is 9007199254740992, not a safe integer (use a BigInt64Array)',
    ],
    [
      'a fractional I64 number',
      { l: { dtype: 'I64', shape: [1], data: [0.5] } },
      'I64 element 0 is 0.5, not a safe integer',
    ],
    [
      'the reserved name',
      { __metadata__: { dtype: 'U8', shape: [0], data: new Uint8Array(0) } },
      'tensor "__metadata__": the name is reserved or empty',
    ],
    [
      'an empty name',
      { '': { dtype: 'U8', shape: [0], data: new Uint8Array(0) } },
      'tensor "": the name is reserved or empty',
    ],
  ];
  it.each(bad)('%s', (_, tensors, message) => {
    expect(() => encodeSafetensors(tensors)).toThrow(message);
  });

  it('metadata values must be strings', () => {
    expect(() => encodeSafetensors({}, { iteration: 3 as unknown as string })).toThrow(
      'encodeSafetensors: metadata "iteration" must be a string, got number',
    );
  });
});

describe('decodeSafetensors refuses malformed files with SafetensorsFormatError naming the source', () => {
  const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, Uint8Array, string][] = [
    [
      'fewer than 8 bytes',
      Uint8Array.from([1, 2, 3]),
      'f.safetensors: expected a safetensors file (an 8-byte header length first), found 3 bytes',
    ],
    [
      'a header length beyond the file',
      rawFile(ok, u8(8), 1000n),
      'f.safetensors: expected a header of 1000 bytes after the length field, found only 62 bytes (truncated, or not a safetensors file)',
    ],
    [
      'a header length beyond 2^53',
      rawFile(ok, u8(8), 2n ** 64n - 1n),
      'expected a header of 18446744073709551615 bytes after the length field',
    ],
    [
      'a header that is not UTF-8',
      notUtf8Header(),
      'f.safetensors: expected a UTF-8 JSON header, found bytes that are not valid UTF-8',
    ],
    [
      'invalid JSON',
      rawFile('{"a": {"dtype": "F32",', u8(0)),
      'f.safetensors: expected a JSON header, found invalid JSON (',
    ],
    [
      'a JSON array header',
      rawFile('[1, 2]'),
      'f.safetensors: expected a JSON object as the header, found an array',
    ],
    ['a JSON null header', rawFile('null'), 'expected a JSON object as the header, found null'],
    [
      'non-string metadata',
      rawFile({ __metadata__: { iteration: 3 } }),
      'f.safetensors: expected "__metadata__" to map strings to strings, found ✖ Invalid input: expected string, received number\n  → at iteration',
    ],
    [
      'a tensor entry without data_offsets',
      rawFile({ a: { dtype: 'F32', shape: [2] } }, u8(8)),
      'f.safetensors: expected tensor "a" as { dtype, shape: integers >= 0, data_offsets: [begin, end] }, found ✖ Invalid input: expected tuple, received undefined\n  → at data_offsets',
    ],
    [
      'a negative dimension',
      rawFile({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, u8(8)),
      'found ✖ Too small: expected number to be >=0\n  → at shape[0]',
    ],
    [
      'an unknown dtype',
      rawFile({ a: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, u8(4)),
      'f.safetensors: expected tensor "a" to have a dtype in U8, F16, I32, F32, F64, I64, found dtype "BF16"',
    ],
    [
      'a lower-case dtype',
      rawFile({ a: { dtype: 'f32', shape: [2], data_offsets: [0, 8] } }, u8(8)),
      'found dtype "f32"',
    ],
    [
      'begin after end',
      rawFile({ a: { dtype: 'U8', shape: [0], data_offsets: [4, 2] } }, u8(4)),
      'f.safetensors: expected tensor "a" to have data_offsets [begin, end] with begin <= end, found [4, 2]',
    ],
    [
      'offsets beyond the data',
      rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, u8(8)),
      'f.safetensors: expected tensor "a" within the 8 data bytes, found data_offsets [0, 16] (out of range)',
    ],
    [
      'a size that does not match shape x dtype',
      rawFile({ a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 20] } }, u8(20)),
      'f.safetensors: expected tensor "a" to hold 24 bytes (F32 [2, 3]: 6 elements x 4 bytes), found data_offsets [0, 20] (20 bytes)',
    ],
    [
      'overlapping tensors',
      rawFile(
        {
          a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
          b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] },
        },
        u8(6),
      ),
      'f.safetensors: expected tensors not to overlap, found "b" [2, 6] overlapping "a" [0, 4]',
    ],
    [
      'a gap between tensors',
      rawFile(
        {
          a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] },
          b: { dtype: 'U8', shape: [2], data_offsets: [4, 6] },
        },
        u8(6),
      ),
      'f.safetensors: expected tensor data to be contiguous, found a gap of 2 bytes between "a" [0, 2] and "b" [4, 6]',
    ],
    [
      'data not starting at offset 0',
      rawFile({ a: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } }, u8(4)),
      'found a gap of 2 bytes between the start of the data and "a" [2, 4]',
    ],
    [
      'trailing bytes after the last tensor',
      rawFile(ok, u8(12)),
      'f.safetensors: expected the tensors to cover all 12 data bytes, found 4 trailing bytes after offset 8',
    ],
    [
      'data but no tensors',
      rawFile({}, u8(3)),
      'expected the tensors to cover all 3 data bytes, found 3 trailing bytes after offset 0',
    ],
  ];

  it.each(cases)('%s', (_, file, message) => {
    const err = (() => {
      try {
        decodeSafetensors(file, 'f.safetensors');
      } catch (e) {
        return e;
      }
      return new Error('decoded without error');
    })();
    expect(err).toBeInstanceOf(SafetensorsFormatError);
    expect((err as Error).message).toContain(message);
    expect(err).toMatchObject({ source: 'f.safetensors' });
  });

  it('a header longer than the 100 MB the Rust library allows', () => {
    const file = new Uint8Array(8 + 100_000_001);
    new DataView(file.buffer).setBigUint64(0, 100_000_001n, true);
    expect(() => decodeSafetensors(file, 'huge.safetensors')).toThrow(
      'huge.safetensors: expected a header of at most 100000000 bytes, found 100000001 bytes',
    );
  });

  it('accepts what the Rust library accepts: an unpadded header and unknown fields in an entry', () => {
    const file = rawFile(
      { a: { dtype: 'U8', shape: [1], data_offsets: [0, 1], extra: true } },
      Uint8Array.from([7]),
    );
    expect(decodeSafetensors(file, 'f').tensors.a).toEqual({
      dtype: 'U8',
      shape: [1],
      data: Uint8Array.from([7]),
    });
  });
});
