/**
 * A parser for numpy's `.npy` format (versions 1.0, 2.0 and 3.0), limited to what datasets need: simple numeric
 * dtypes in C order. The header is a Python dict literal; it is parsed field by field, never evaluated, and
 * anything unexpected (structured or object dtypes, Fortran order, a data block of the wrong length) is an error
 * that names the file. Pure: no Node APIs.
 */
import { DatasetFormatError } from './errors.ts';

export interface NpyDtype {
  /** numpy's kind letter: b (bool), i (signed), u (unsigned), f (float). */
  kind: 'b' | 'i' | 'u' | 'f';
  /** Bytes per element. */
  size: number;
  littleEndian: boolean;
  /** numpy's name for messages, e.g. `uint8`, `float64`. */
  name: string;
}

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** The raw element bytes (C order), a view into the input. */
  data: Uint8Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new DatasetFormatError(file, 'a .npy array (magic "\\x93NUMPY")', describeStart(bytes));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12)
      throw new DatasetFormatError(file, 'a complete .npy header', `${bytes.length} bytes`);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new DatasetFormatError(file, '.npy format version 1, 2 or 3', `version ${major}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) {
    throw new DatasetFormatError(
      file,
      `a .npy header of ${headerLen} bytes`,
      `only ${bytes.length - headerStart} bytes (truncated)`,
    );
  }
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, dataStart),
  );

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  if (descr === undefined) {
    throw new DatasetFormatError(
      file,
      "a simple dtype in the .npy header ('descr': '<u1' etc.)",
      header.trim(),
    );
  }
  const dtype = parseDescr(descr, file);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortran === undefined) {
    throw new DatasetFormatError(file, "'fortran_order' in the .npy header", header.trim());
  }
  if (fortran === 'True') {
    throw new DatasetFormatError(
      file,
      'a C-ordered array',
      'fortran_order True (save it with np.ascontiguousarray)',
    );
  }
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined)
    throw new DatasetFormatError(file, "'shape' in the .npy header", header.trim());
  const shape = shapeText
    .split(',')
    .map((s) => s.trim().replace(/L$/, ''))
    .filter((s) => s !== '')
    .map((s) => {
      if (!/^\d+$/.test(s))
        throw new DatasetFormatError(file, 'integer dimensions in the .npy shape', `(${shapeText})`);
      return Number(s);
    });

  const count = shape.reduce((a, b) => a * b, 1);
  const expectedBytes = count * dtype.size;
  const found = bytes.length - dataStart;
  if (found !== expectedBytes) {
    throw new DatasetFormatError(
      file,
      `${expectedBytes} data bytes for ${dtype.name} shape (${shape.join(', ')})`,
      `${found} bytes (${found < expectedBytes ? 'truncated' : 'trailing data'})`,
    );
  }
  return { dtype, shape, data: bytes.subarray(dataStart) };
}

function parseDescr(descr: string, file: string): NpyDtype {
  const m = /^([<>|=]?)([biuf])(\d+)$/.exec(descr);
  const order = m?.[1];
  const kind = m?.[2];
  const size = Number(m?.[3]);
  if (
    order === undefined ||
    (kind !== 'b' && kind !== 'i' && kind !== 'u' && kind !== 'f') ||
    ![1, 2, 4, 8].includes(size)
  ) {
    throw new DatasetFormatError(file, 'a numeric dtype (bool, int, uint or float)', `dtype '${descr}'`);
  }
  const names = { b: 'bool', i: 'int', u: 'uint', f: 'float' } as const;
  const name = kind === 'b' ? 'bool' : `${names[kind]}${size * 8}`;
  // '=' is native order; numpy writes '<' or '|' on every platform we load from, and native here is little.
  return { kind, size, littleEndian: order !== '>', name };
}

function describeStart(bytes: Uint8Array): string {
  if (bytes.length < 10) return `${bytes.length} bytes (truncated)`;
  const head = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `bytes ${head}`;
}

/**
 * Reads integer elements as JavaScript numbers, whatever their width or byte order; floats and bools are
 * refused so that labels stay exact. 64-bit values must lie in the safe integer range.
 */
export function npyIntegers(arr: NpyArray, file: string): number[] {
  const { dtype, data } = arr;
  if (dtype.kind !== 'i' && dtype.kind !== 'u') {
    throw new DatasetFormatError(
      file,
      'integer labels (int8..int64 or uint8..uint64)',
      `dtype ${dtype.name}`,
    );
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = data.byteLength / dtype.size;
  const out = new Array<number>(n);
  const le = dtype.littleEndian;
  const signed = dtype.kind === 'i';
  for (let i = 0; i < n; i++) {
    const o = i * dtype.size;
    switch (dtype.size) {
      case 1:
        out[i] = signed ? view.getInt8(o) : view.getUint8(o);
        break;
      case 2:
        out[i] = signed ? view.getInt16(o, le) : view.getUint16(o, le);
        break;
      case 4:
        out[i] = signed ? view.getInt32(o, le) : view.getUint32(o, le);
        break;
      default: {
        const v = signed ? view.getBigInt64(o, le) : view.getBigUint64(o, le);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new DatasetFormatError(file, 'labels in the safe integer range', `${v} at index ${i}`);
        }
        out[i] = Number(v);
      }
    }
  }
  return out;
}
