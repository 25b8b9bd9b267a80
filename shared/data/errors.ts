/**
 * The one error the dataset loaders throw for bad input. Its message always says which file (or folder, or
 * entry inside an archive) was at fault, what the loader expected and what it found, so that a user can fix
 * the data without reading the loader.
 */
export class DatasetFormatError extends Error {
  override readonly name = 'DatasetFormatError';

  constructor(
    /** The file or folder at fault; for an archive member `archive.npz:member.npy`. */
    readonly file: string,
    readonly expected: string,
    readonly found: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: expected ${expected}, found ${found}`, options);
  }
}

/** Re-throws anything that is not already a `DatasetFormatError` as one about `file` (e.g. a decoder's own error). */
export function asFormatError(file: string, expected: string, err: unknown): DatasetFormatError {
  if (err instanceof DatasetFormatError) return err;
  const found = err instanceof Error ? err.message : String(err);
  return new DatasetFormatError(file, expected, found, { cause: err });
}
