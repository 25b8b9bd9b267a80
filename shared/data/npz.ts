/**
 * numpy `.npz` archives (`np.savez`, `np.savez_compressed`): a zip of `.npy` members. Members are decompressed
 * only when asked for, so an unused split (MedMNIST's `val`) costs nothing. Pure: works on bytes in memory.
 */
import { DatasetFormatError } from './errors.ts';
import { parseNpy, type NpyArray } from './npy.ts';
import { listZipEntries, readZipEntry, type ZipEntry } from './zip.ts';

export interface NpzArchive {
  /** Array names as numpy gives them (`train_images`, ...): member names without `.npy`. */
  names: string[];
  has(name: string): boolean;
  /** Decompresses, CRC-checks and parses one member; throws `DatasetFormatError` naming `file:name.npy`. */
  get(name: string): NpyArray;
}

export function openNpz(bytes: Uint8Array, file: string): NpzArchive {
  const members = new Map<string, ZipEntry>();
  for (const entry of listZipEntries(bytes, file)) {
    if (entry.name.endsWith('.npy')) members.set(entry.name.slice(0, -4), entry);
  }
  return {
    names: [...members.keys()],
    has: (name) => members.has(name),
    get(name) {
      const entry = members.get(name);
      if (entry === undefined) {
        throw new DatasetFormatError(
          file,
          `an array named '${name}'`,
          `only [${[...members.keys()].join(', ')}]`,
        );
      }
      const where = `${file}:${entry.name}`;
      return parseNpy(readZipEntry(bytes, entry, file), where);
    },
  };
}
