/**
 * A small, independent writer of `.npy` arrays and `.npz` (zip) archives for tests: it uses node:zlib for
 * deflate and CRC-32, not the reader's code, and can mimic numpy's zip64 local headers.
 */
import { crc32, deflateRawSync } from 'node:zlib';

export type Descr = '|u1' | '|i1' | '<u2' | '<i2' | '<i4' | '<u4' | '<i8' | '<u8' | '<f4' | '<f8' | '>i4';

const ITEM_SIZE: Record<Descr, number> = {
  '|u1': 1,
  '|i1': 1,
  '<u2': 2,
  '<i2': 2,
  '<i4': 4,
  '<u4': 4,
  '<i8': 8,
  '<u8': 8,
  '<f4': 4,
  '<f8': 8,
  '>i4': 4,
};

/** Encodes numbers as `descr` (little-endian unless '>'), C order. */
export function encodeValues(descr: Descr, values: ArrayLike<number>): Uint8Array {
  const size = ITEM_SIZE[descr];
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  const le = !descr.startsWith('>');
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const o = i * size;
    switch (descr) {
      case '|u1':
        view.setUint8(o, v);
        break;
      case '|i1':
        view.setInt8(o, v);
        break;
      case '<u2':
        view.setUint16(o, v, le);
        break;
      case '<i2':
        view.setInt16(o, v, le);
        break;
      case '<i4':
      case '>i4':
        view.setInt32(o, v, le);
        break;
      case '<u4':
        view.setUint32(o, v, le);
        break;
      case '<i8':
        view.setBigInt64(o, BigInt(v), le);
        break;
      case '<u8':
        view.setBigUint64(o, BigInt(v), le);
        break;
      case '<f4':
        view.setFloat32(o, v, le);
        break;
      case '<f8':
        view.setFloat64(o, v, le);
        break;
    }
  }
  return out;
}

export interface NpyOptions {
  fortranOrder?: boolean;
  /** Replaces the whole header dict text (for malformed-header tests). */
  rawHeader?: string;
}

/** A version 1.0 `.npy` file, header padded with spaces to a multiple of 64 bytes like numpy. */
export function npy(descr: string, shape: number[], data: Uint8Array, options: NpyOptions = {}): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict =
    options.rawHeader ??
    `{'descr': '${descr}', 'fortran_order': ${options.fortranOrder === true ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

export function npyArray(descr: Descr, shape: number[], values: ArrayLike<number>): Uint8Array {
  return npy(descr, shape, encodeValues(descr, values));
}

export interface ZipOptions {
  /** Deflate entries (np.savez_compressed) instead of storing them (np.savez). */
  compress?: boolean;
  /** numpy's `force_zip64=True`: 0xFFFFFFFF sizes in the local header plus a zip64 extra field. */
  zip64LocalHeaders?: boolean;
}

/** A zip archive of `files` (name -> bytes), entries in insertion order. */
export function zip(files: Record<string, Uint8Array>, options: ZipOptions = {}): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(files)) {
    const nameBytes = new TextEncoder().encode(name);
    const body = options.compress === true ? new Uint8Array(deflateRawSync(data)) : data;
    const crc = crc32(data);
    const method = options.compress === true ? 8 : 0;
    const z64 = options.zip64LocalHeaders === true;
    const extra = z64 ? new Uint8Array(20) : new Uint8Array(0);
    if (z64) {
      const ev = new DataView(extra.buffer);
      ev.setUint16(0, 1, true);
      ev.setUint16(2, 16, true);
      ev.setBigUint64(4, BigInt(data.length), true);
      ev.setBigUint64(12, BigInt(body.length), true);
    }
    const local = new Uint8Array(30 + nameBytes.length + extra.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, z64 ? 45 : 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, z64 ? 0xffffffff : body.length, true);
    lv.setUint32(22, z64 ? 0xffffffff : data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, extra.length, true);
    local.set(nameBytes, 30);
    local.set(extra, 30 + nameBytes.length);
    locals.push(local, body);

    const central = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    central.set(nameBytes, 46);
    centrals.push(central);
    offset += local.length + body.length;
  }
  const cdSize = centrals.reduce((s, c) => s + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, centrals.length, true);
  ev.setUint16(10, centrals.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return concat([...locals, ...centrals, eocd]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface SplitArrays {
  /** Pixel values, encoded as `imageDescr` (uint8 by default). */
  images: ArrayLike<number>;
  imageShape: number[];
  labels: ArrayLike<number>;
  labelShape?: number[];
  imageDescr?: Descr;
  labelDescr?: Descr;
}

/** An npz in MedMNIST's layout: `<split>_images` and `<split>_labels` for each split given. */
export function medmnistNpz(splits: Record<string, SplitArrays>, options: ZipOptions = {}): Uint8Array {
  const files: Record<string, Uint8Array> = {};
  for (const [split, s] of Object.entries(splits)) {
    files[`${split}_images.npy`] = npyArray(s.imageDescr ?? '|u1', s.imageShape, s.images);
    files[`${split}_labels.npy`] = npyArray(
      s.labelDescr ?? '|u1',
      s.labelShape ?? [s.labels.length, 1],
      s.labels,
    );
  }
  return zip(files, options);
}

/** Deterministic pseudo-random bytes (a 32-bit LCG), so generated images differ but tests stay reproducible. */
export function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}
