/**
 * File-system access shared by the loaders, with errors that say which path and what was expected there.
 * Code-point order is Python's `sorted()` order for strings, which torchvision's ImageFolder uses for classes
 * and files; JavaScript's default sort compares UTF-16 units and differs for characters beyond U+FFFF.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DatasetFormatError } from './errors.ts';

export async function readBytes(path: string, expected: string): Promise<Uint8Array> {
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    throw new DatasetFormatError(path, expected, describeFsError(err), { cause: err });
  }
}

export interface DirEntry {
  name: string;
  path: string;
  isDirectory: boolean;
}

/** Entries of a folder, symlinks followed (like os.walk(followlinks=True)), in code-point order. */
export async function listDir(path: string, expected: string): Promise<DirEntry[]> {
  let names: string[];
  try {
    names = await readdir(path);
  } catch (err) {
    throw new DatasetFormatError(path, expected, describeFsError(err), { cause: err });
  }
  const entries: DirEntry[] = [];
  for (const name of names.sort(compareCodePoints)) {
    const full = join(path, name);
    const info = await stat(full).catch((err: unknown) => {
      throw new DatasetFormatError(full, 'a readable file or folder', describeFsError(err), { cause: err });
    });
    entries.push({ name, path: full, isDirectory: info.isDirectory() });
  }
  return entries;
}

export function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function describeFsError(err: unknown): string {
  const code = err instanceof Error && 'code' in err ? String(err.code) : undefined;
  switch (code) {
    case 'ENOENT':
      return 'nothing at that path';
    case 'EISDIR':
      return 'a folder';
    case 'ENOTDIR':
      return 'a file, not a folder';
    case 'ERR_FS_FILE_TOO_LARGE':
      return 'a file over 2 GiB, more than Node reads into one buffer (use a smaller MedMNIST size)';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
