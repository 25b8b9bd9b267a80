import { DatasetFormatError } from '../../../shared/data/errors.ts';

/** Runs `fn` (sync or async) and returns the DatasetFormatError it throws; fails on anything else. */
export async function formatErrorOf(fn: () => unknown): Promise<DatasetFormatError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof DatasetFormatError) return err;
    throw new Error(`expected a DatasetFormatError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a DatasetFormatError, nothing was thrown');
}

/** Synchronous form of `formatErrorOf`. */
export function formatError(fn: () => unknown): DatasetFormatError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DatasetFormatError) return err;
    throw new Error(`expected a DatasetFormatError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a DatasetFormatError, nothing was thrown');
}
