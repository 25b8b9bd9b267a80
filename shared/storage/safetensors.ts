/**
 * The safetensors format (huggingface/safetensors), for checkpoints that PyTorch can read and write:
 *
 *   u64 little-endian N | N bytes of UTF-8 JSON header | raw little-endian tensor data
 *
 * The header maps each tensor name to `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the
 * start of the data) and may hold `"__metadata__": { string: string }`. Supported dtypes: F64, F32, F16, I64, I32,
 * U8 (see docs/storage.md for how each maps to a typed array). Pure: no Node APIs.
 *
 * The encoder lays files out exactly as the Rust/Python library does (tensors by dtype, widest first, then by
 * name; metadata keys sorted; header padded with spaces to 8 bytes), so the same tensors give the same bytes.
 * The decoder checks what the Rust library checks (offsets contiguous from 0, no overlap, no gap, the data
 * exactly covered, byte counts matching shape x dtype) and copies every tensor into its own aligned typed array.
 */
import { z } from 'zod';
import { float16ArrayToFloat32, float32ArrayToFloat16 } from './float16.ts';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'I64' | 'I32' | 'U8';

/** The typed array each dtype decodes to. F16 decodes to float32 values (exact); I64 to BigInt64Array. */
export interface DecodedData {
  F64: Float64Array;
  F32: Float32Array;
  F16: Float32Array;
  I64: BigInt64Array;
  I32: Int32Array;
  U8: Uint8Array;
}

/** What each dtype accepts on encoding: as decoded, plus I64 from numbers that are safe integers. */
export interface EncodableData extends Omit<DecodedData, 'I64'> {
  I64: BigInt64Array | readonly number[];
}

export type SafetensorsTensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: number[]; data: DecodedData[D] };
}[SafetensorsDtype];

export type EncodableTensor = {
  [D in SafetensorsDtype]: { dtype: D; shape: readonly number[]; data: EncodableData[D] };
}[SafetensorsDtype];

export interface DecodedSafetensors {
  tensors: Record<string, SafetensorsTensor>;
  /** The `__metadata__` map; `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** A malformed safetensors file. The message names the file (or key) and says what was expected and found. */
export class SafetensorsFormatError extends Error {
  override readonly name = 'SafetensorsFormatError';
  /** Bytes that do not parse will not parse on a retry. */
  readonly retryable = false;

  constructor(
    readonly source: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(`${source}: expected ${expected}, found ${found}`);
  }
}

/** Bytes per element, and the rank the Rust library sorts by (its `Dtype` enum order: wider or later first). */
const DTYPES: Record<SafetensorsDtype, { size: number; rank: number }> = {
  U8: { size: 1, rank: 0 },
  F16: { size: 2, rank: 1 },
  I32: { size: 4, rank: 2 },
  F32: { size: 4, rank: 3 },
  F64: { size: 8, rank: 4 },
  I64: { size: 8, rank: 5 },
};
const SUPPORTED = Object.keys(DTYPES).join(', ');
const isDtype = (d: string): d is SafetensorsDtype => Object.hasOwn(DTYPES, d);

const METADATA_KEY = '__metadata__';
/** The Rust library refuses larger headers. */
const MAX_HEADER_BYTES = 100_000_000;

// ---------------------------------------------------------------------------------------------------------------
// Encoding

export function encodeSafetensors(
  tensors: Record<string, EncodableTensor>,
  metadata?: Record<string, string>,
): Uint8Array {
  assertLittleEndianHost();
  const entries = Object.entries(tensors)
    .map(([name, tensor]) => ({
      name,
      dtype: tensor.dtype,
      shape: [...tensor.shape],
      bytes: tensorBytes(name, tensor),
    }))
    .sort((a, b) => DTYPES[b.dtype].rank - DTYPES[a.dtype].rank || compareUtf8(a.name, b.name));

  const parts: string[] = [];
  if (metadata !== undefined) {
    const fields = Object.entries(metadata)
      .sort(([a], [b]) => compareUtf8(a, b))
      .map(([k, v]) => {
        if (typeof v !== 'string') {
          throw new TypeError(
            `encodeSafetensors: metadata ${JSON.stringify(k)} must be a string, got ${typeof v}`,
          );
        }
        return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
      });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  let offset = 0;
  for (const { name, dtype, shape, bytes } of entries) {
    const info = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { bytes } of entries) {
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

/** The tensor's little-endian data bytes, after checking name, dtype, shape and data against each other. */
function tensorBytes(name: string, tensor: EncodableTensor): Uint8Array {
  const where = `encodeSafetensors: tensor ${JSON.stringify(name)}`;
  if (name === '' || name === METADATA_KEY) throw new TypeError(`${where}: the name is reserved or empty`);
  const { dtype, shape } = tensor;
  if (typeof dtype !== 'string' || !isDtype(dtype)) {
    throw new TypeError(`${where}: dtype ${JSON.stringify(dtype)} is not one of ${SUPPORTED}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new TypeError(`${where}: shape ${JSON.stringify(shape)} must be an array of integers >= 0`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const length = (tensor.data as { length?: unknown } | null)?.length;
  if (length !== count) {
    throw new RangeError(
      `${where}: shape [${shape.join(', ')}] has ${count} elements, but data has ${String(length)}`,
    );
  }
  const wrongType = (expected: string): TypeError =>
    new TypeError(`${where}: dtype ${dtype} needs ${expected} data, got ${describeData(tensor.data)}`);
  switch (tensor.dtype) {
    case 'F64':
      if (!(tensor.data instanceof Float64Array)) throw wrongType('Float64Array');
      return viewBytes(tensor.data);
    case 'F32':
      if (!(tensor.data instanceof Float32Array)) throw wrongType('Float32Array');
      return viewBytes(tensor.data);
    case 'F16':
      if (!(tensor.data instanceof Float32Array))
        throw wrongType('Float32Array (float32 values, rounded to float16)');
      return viewBytes(float32ArrayToFloat16(tensor.data));
    case 'I32':
      if (!(tensor.data instanceof Int32Array)) throw wrongType('Int32Array');
      return viewBytes(tensor.data);
    case 'U8':
      if (!(tensor.data instanceof Uint8Array)) throw wrongType('Uint8Array');
      return viewBytes(tensor.data);
    case 'I64': {
      const data = tensor.data;
      if (data instanceof BigInt64Array) return viewBytes(data);
      if (!Array.isArray(data)) throw wrongType('BigInt64Array or number[]');
      const bad = data.findIndex((v) => !Number.isSafeInteger(v));
      if (bad >= 0) {
        throw new RangeError(
          `${where}: I64 element ${bad} is ${String(data[bad])}, not a safe integer (use a BigInt64Array)`,
        );
      }
      return viewBytes(BigInt64Array.from(data, (v) => BigInt(v)));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

const nonNegative = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** A tensor entry; unknown fields are ignored, as the Rust library does. */
const tensorInfoSchema = z.object({
  dtype: z.string(),
  shape: z.array(nonNegative),
  data_offsets: z.tuple([nonNegative, nonNegative]),
});
const metadataSchema = z.record(z.string(), z.string());

export function decodeSafetensors(bytes: Uint8Array, source: string): DecodedSafetensors {
  assertLittleEndianHost();
  const fail = (expected: string, found: string): SafetensorsFormatError =>
    new SafetensorsFormatError(source, expected, found);
  if (bytes.length < 8)
    throw fail('a safetensors file (an 8-byte header length first)', `${bytes.length} bytes`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    throw fail(
      `a header of ${declared} bytes after the length field`,
      `only ${bytes.length - 8} bytes (truncated, or not a safetensors file)`,
    );
  }
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES)
    throw fail(`a header of at most ${MAX_HEADER_BYTES} bytes`, `${headerLength} bytes`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw fail('a UTF-8 JSON header', 'bytes that are not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (err) {
    throw fail(
      'a JSON header',
      `invalid JSON (${err instanceof Error ? err.message : String(err)}) in ${quoteStart(text)}`,
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw fail('a JSON object as the header', Array.isArray(header) ? 'an array' : String(header));
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const infos: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      const parsed = metadataSchema.safeParse(value);
      if (!parsed.success)
        throw fail('"__metadata__" to map strings to strings', z.prettifyError(parsed.error));
      metadata = parsed.data;
      continue;
    }
    const parsed = tensorInfoSchema.safeParse(value);
    const what = `tensor ${JSON.stringify(name)}`;
    if (!parsed.success) {
      throw fail(
        `${what} as { dtype, shape: integers >= 0, data_offsets: [begin, end] }`,
        z.prettifyError(parsed.error),
      );
    }
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = parsed.data;
    if (!isDtype(dtype))
      throw fail(`${what} to have a dtype in ${SUPPORTED}`, `dtype ${JSON.stringify(dtype)}`);
    if (end < begin)
      throw fail(`${what} to have data_offsets [begin, end] with begin <= end`, `[${begin}, ${end}]`);
    if (end > dataLength) {
      throw fail(
        `${what} within the ${dataLength} data bytes`,
        `data_offsets [${begin}, ${end}] (out of range)`,
      );
    }
    const count = shape.reduce((a, b) => a * b, 1);
    const size = count * DTYPES[dtype].size;
    if (!Number.isSafeInteger(size) || size !== end - begin) {
      throw fail(
        `${what} to hold ${size} bytes (${dtype} [${shape.join(', ')}]: ${count} elements x ${DTYPES[dtype].size} bytes)`,
        `data_offsets [${begin}, ${end}] (${end - begin} bytes)`,
      );
    }
    infos.push({ name, dtype, shape, begin, end });
  }

  // The data must be covered exactly, in order: no overlap, no gap, nothing after the last tensor.
  const byOffset = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: (typeof infos)[number] | undefined;
  for (const info of byOffset) {
    const span = `${JSON.stringify(info.name)} [${info.begin}, ${info.end}]`;
    const after =
      previous === undefined
        ? 'the start of the data'
        : `${JSON.stringify(previous.name)} [${previous.begin}, ${previous.end}]`;
    if (info.begin < covered) throw fail(`tensors not to overlap`, `${span} overlapping ${after}`);
    if (info.begin > covered)
      throw fail(
        `tensor data to be contiguous`,
        `a gap of ${info.begin - covered} bytes between ${after} and ${span}`,
      );
    covered = info.end;
    previous = info;
  }
  if (covered !== dataLength) {
    throw fail(
      `the tensors to cover all ${dataLength} data bytes`,
      `${dataLength - covered} trailing bytes after offset ${covered}`,
    );
  }

  const tensors = Object.fromEntries(
    infos.map(({ name, dtype, shape, begin, end }) => {
      // slice() copies into a fresh buffer at offset 0, so every typed array is aligned.
      const raw = bytes.slice(dataStart + begin, dataStart + end);
      return [name, { dtype, shape, data: typedData(dtype, raw) } as SafetensorsTensor];
    }),
  );
  return { tensors, metadata };
}

/** Numbers from an I64 tensor, for labels and counters; refuses values beyond 2^53 rather than rounding them. */
export function int64ToNumbers(data: BigInt64Array, source: string, name: string): number[] {
  return Array.from(data, (v, i) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) {
      throw new SafetensorsFormatError(
        source,
        `tensor ${JSON.stringify(name)} to hold safe integers (|v| < 2^53)`,
        `${v} at element ${i}`,
      );
    }
    return n;
  });
}

function typedData(dtype: SafetensorsDtype, raw: Uint8Array): DecodedData[SafetensorsDtype] {
  const { buffer } = raw;
  const n = raw.length / DTYPES[dtype].size;
  switch (dtype) {
    case 'F64':
      return new Float64Array(buffer, 0, n);
    case 'F32':
      return new Float32Array(buffer, 0, n);
    case 'F16':
      return float16ArrayToFloat32(new Uint16Array(buffer, 0, n));
    case 'I64':
      return new BigInt64Array(buffer, 0, n);
    case 'I32':
      return new Int32Array(buffer, 0, n);
    case 'U8':
      return raw;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function viewBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Orders strings by their UTF-8 bytes, as Rust compares them. */
function compareUtf8(a: string, b: string): number {
  const encoder = new TextEncoder();
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function describeData(data: unknown): string {
  if (data === null || typeof data !== 'object') return typeof data;
  return data.constructor.name;
}

function quoteStart(text: string): string {
  return text.length <= 60 ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, 60))}...`;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(): void {
  if (!HOST_LITTLE_ENDIAN)
    throw new Error('safetensors: big-endian hosts are not supported (typed arrays would need byte swaps)');
}
