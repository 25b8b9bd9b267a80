/**
 * A minimal reader for the zip archives that numpy writes (`.npz`), over bytes already in memory.
 *
 * It reads what `np.savez` (stored entries) and `np.savez_compressed` (deflate) produce, including the zip64
 * extra fields that numpy always asks for (`zipfile.open(..., force_zip64=True)`). Entries are located through
 * the central directory, as zip readers must (local headers may carry zero sizes when a data descriptor follows),
 * and every entry is checked against its CRC-32, so a flipped byte is reported instead of decoded into wrong pixels.
 * Pure: no Node APIs, so it also runs in a browser.
 */
import { inflateSync } from 'fflate';
import { DatasetFormatError } from './errors.ts';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate; anything else is rejected when read. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

/** Lists the entries of the zip archive in `bytes`; `file` names the archive in errors. */
export function listZipEntries(bytes: Uint8Array, file: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEndOfCentralDirectory(view, file);
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  const disk = view.getUint16(eocd + 4, true);
  if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
    ({ count, cdSize, cdOffset } = readZip64End(view, eocd, file));
  } else if (disk !== 0) {
    throw new DatasetFormatError(file, 'a single-disk zip archive', `a multi-disk archive (disk ${disk})`);
  }
  if (cdOffset + cdSize > bytes.byteLength) {
    throw new DatasetFormatError(
      file,
      `a central directory of ${cdSize} bytes at offset ${cdOffset}`,
      `a file of only ${bytes.byteLength} bytes (truncated?)`,
    );
  }

  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || view.getUint32(p, true) !== SIG_CENTRAL) {
      throw new DatasetFormatError(
        file,
        `${count} central directory records`,
        `a broken record #${i} at offset ${p} (corrupt archive)`,
      );
    }
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLen));
    const entry: ZipEntry = {
      name,
      flags: view.getUint16(p + 8, true),
      method: view.getUint16(p + 10, true),
      crc32: view.getUint32(p + 16, true),
      compressedSize: view.getUint32(p + 20, true),
      uncompressedSize: view.getUint32(p + 24, true),
      localHeaderOffset: view.getUint32(p + 42, true),
    };
    applyZip64Extra(view, p + 46 + nameLen, extraLen, entry, file);
    entries.push(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The uncompressed bytes of `entry`, CRC-checked. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, file: string): Uint8Array {
  const where = `${file}:${entry.name}`;
  if (entry.flags & 1) throw new DatasetFormatError(where, 'an unencrypted entry', 'an encrypted one');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = entry.localHeaderOffset;
  if (h + 30 > bytes.byteLength || view.getUint32(h, true) !== SIG_LOCAL) {
    throw new DatasetFormatError(
      where,
      `a local file header at offset ${h}`,
      'none (corrupt or truncated archive)',
    );
  }
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.byteLength) {
    throw new DatasetFormatError(
      where,
      `${entry.compressedSize} bytes of entry data ending at offset ${end}`,
      `a file of only ${bytes.byteLength} bytes (truncated)`,
    );
  }
  const raw = bytes.subarray(start, end);
  let data: Uint8Array;
  if (entry.method === 0) {
    data = raw;
  } else if (entry.method === 8) {
    try {
      data = inflateSync(raw, { out: new Uint8Array(entry.uncompressedSize) });
    } catch (err) {
      throw new DatasetFormatError(where, 'a valid deflate stream', `a corrupt one (${String(err)})`, {
        cause: err,
      });
    }
  } else {
    throw new DatasetFormatError(
      where,
      'compression method 0 (stored) or 8 (deflate)',
      `method ${entry.method}`,
    );
  }
  if (data.byteLength !== entry.uncompressedSize) {
    throw new DatasetFormatError(
      where,
      `${entry.uncompressedSize} uncompressed bytes`,
      `${data.byteLength} (corrupt entry)`,
    );
  }
  const crc = crc32(data);
  if (crc !== entry.crc32) {
    throw new DatasetFormatError(
      where,
      `CRC-32 ${hex32(entry.crc32)}`,
      `${hex32(crc)} (the entry is corrupt)`,
    );
  }
  return data;
}

function findEndOfCentralDirectory(view: DataView, file: string): number {
  const lowest = Math.max(0, view.byteLength - EOCD_SIZE - MAX_COMMENT);
  for (let p = view.byteLength - EOCD_SIZE; p >= lowest; p--) {
    if (view.getUint32(p, true) === SIG_EOCD) return p;
  }
  throw new DatasetFormatError(
    file,
    'a zip archive (an .npz file ends with an end-of-central-directory record)',
    `no such record in ${view.byteLength} bytes (truncated, or not an npz file)`,
  );
}

function readZip64End(
  view: DataView,
  eocd: number,
  file: string,
): { count: number; cdSize: number; cdOffset: number } {
  const loc = eocd - 20;
  if (loc < 0 || view.getUint32(loc, true) !== SIG_ZIP64_LOCATOR) {
    throw new DatasetFormatError(file, 'a zip64 end-of-central-directory locator', 'none (corrupt archive)');
  }
  const rec = safeNumber(view.getBigUint64(loc + 8, true), file, 'zip64 record offset');
  if (rec + 56 > view.byteLength || view.getUint32(rec, true) !== SIG_ZIP64_EOCD) {
    throw new DatasetFormatError(
      file,
      `a zip64 end-of-central-directory record at offset ${rec}`,
      'none (corrupt archive)',
    );
  }
  return {
    count: safeNumber(view.getBigUint64(rec + 32, true), file, 'entry count'),
    cdSize: safeNumber(view.getBigUint64(rec + 40, true), file, 'central directory size'),
    cdOffset: safeNumber(view.getBigUint64(rec + 48, true), file, 'central directory offset'),
  };
}

/** Zip64 extra field (id 1): 8-byte values, present only for the header fields that hold 0xFFFFFFFF, in this order. */
function applyZip64Extra(view: DataView, start: number, length: number, entry: ZipEntry, file: string): void {
  let p = start;
  const end = start + length;
  while (p + 4 <= end) {
    const id = view.getUint16(p, true);
    const size = view.getUint16(p + 2, true);
    if (id === 1) {
      let q = p + 4;
      const next = (what: string): number => {
        if (q + 8 > p + 4 + size) {
          throw new DatasetFormatError(
            `${file}:${entry.name}`,
            `a zip64 ${what} in the extra field`,
            'a short field',
          );
        }
        const v = safeNumber(view.getBigUint64(q, true), file, what);
        q += 8;
        return v;
      };
      if (entry.uncompressedSize === U32_MAX) entry.uncompressedSize = next('uncompressed size');
      if (entry.compressedSize === U32_MAX) entry.compressedSize = next('compressed size');
      if (entry.localHeaderOffset === U32_MAX) entry.localHeaderOffset = next('header offset');
    }
    p += 4 + size;
  }
}

function safeNumber(v: bigint, file: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new DatasetFormatError(file, `a ${what} below 2^53`, v.toString());
  }
  return Number(v);
}

function hex32(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

/** CRC-32 (IEEE 802.3, the zip one). */
export function crc32(data: Uint8Array): number {
  const table = CRC_TABLE;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const CRC_TABLE = makeCrcTable();

function makeCrcTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}
