/**
 * The errors the artifact stores throw. Each one names the key (quoted, as JSON) and the store's location, so a
 * message alone says which object of which bucket or folder was at fault.
 *
 * Every class carries `retryable`, which says whether the same call may succeed later:
 * - `retryable: false`: a state that a retry cannot change (a bad key, an object that is there or is not, a
 *   missing bucket, a denied permission, a stored object that disagrees with its own checksum). Activities list
 *   these class names among the non-retryable error types.
 * - `retryable: true`: only `StoreUnavailableError` (the service answered 429/5xx after the client's own retries,
 *   the connection broke, or two reads of one object disagreed).
 * Plain I/O errors of the local adapter (EACCES, ENOSPC) propagate unchanged and stay retryable; use
 * `isRetryableStoreError` to decide for any error.
 */

/** A key (or list prefix) that breaks the key rules of `keys.ts`. */
export class InvalidKeyError extends Error {
  override readonly name = 'InvalidKeyError';
  readonly retryable = false;

  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`Invalid artifact key ${JSON.stringify(key)}: ${reason}`);
  }
}

/** `create` found an object at its key: artifacts are immutable, so the first write stands. */
export class ArtifactExistsError extends Error {
  override readonly name = 'ArtifactExistsError';
  readonly retryable = false;

  constructor(
    readonly key: string,
    /** Where the store keeps its objects, e.g. `file:///data/runs` or `memory://`. */
    readonly location: string,
  ) {
    super(
      `Artifact ${JSON.stringify(key)} already exists in ${location}; artifacts are create-only (use put for pointers)`,
    );
  }
}

/** `get` found no object at its key. */
export class ArtifactNotFoundError extends Error {
  override readonly name = 'ArtifactNotFoundError';
  readonly retryable = false;

  constructor(
    readonly key: string,
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(`Artifact ${JSON.stringify(key)} not found in ${location}`, options);
  }
}

/**
 * A write whose key would nest under another key, or have keys nested under it (`a/b` and `a/b/c`). A folder
 * cannot be a file at the same time, so the rule holds on every adapter, not only the local one.
 */
export class KeyConflictError extends Error {
  override readonly name = 'KeyConflictError';
  readonly retryable = false;

  constructor(
    readonly key: string,
    readonly conflictsWith: string,
    readonly location: string,
  ) {
    const clash =
      conflictsWith.length < key.length
        ? `it would nest under the existing key ${JSON.stringify(conflictsWith)}`
        : `the existing key ${JSON.stringify(conflictsWith)} lies under it`;
    super(
      `Cannot write artifact ${JSON.stringify(key)} in ${location}: ${clash} (a key cannot also be a folder of other keys)`,
    );
  }
}

/** An object that exists but does not hold what the reader expected (bad JSON, a schema mismatch). */
export class ArtifactFormatError extends Error {
  override readonly name = 'ArtifactFormatError';
  readonly retryable = false;

  constructor(
    readonly key: string,
    readonly location: string,
    readonly expected: string,
    readonly found: string,
    options?: { cause?: unknown },
  ) {
    super(`Artifact ${JSON.stringify(key)} in ${location}: expected ${expected}, found ${found}`, options);
  }
}

/** A store that cannot be opened: a missing option, an unsupported URL, a filesystem without what we need. */
export class StoreConfigError extends Error {
  override readonly name = 'StoreConfigError';
  readonly retryable = false;

  constructor(
    /** The adapter (`local`, `memory`, `gcs`) or `openStore`. */
    readonly adapter: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`[storage:${adapter}] ${message}`, options);
  }
}

/** The error for a required adapter option that was not given (unstorage's `createRequiredError`). */
export function missingOptionError(adapter: string, option: string, example: string): StoreConfigError {
  return new StoreConfigError(adapter, `Missing required option \`${option}\` (for example ${example})`);
}

/**
 * The store itself is not there: a `gs://` bucket that does not exist. Nothing was read or written; create the
 * bucket (or fix the URL) and run again.
 */
export class StoreNotFoundError extends Error {
  override readonly name = 'StoreNotFoundError';
  readonly retryable = false;

  constructor(
    readonly location: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Store ${location} not found: ${reason}; create it or fix the store URL`, options);
  }
}

/** The service refused the credentials (HTTP 401/403): a retry with the same identity gets the same answer. */
export class StorePermissionError extends Error {
  override readonly name = 'StorePermissionError';
  readonly retryable = false;

  constructor(
    /** What was attempted: `create`, `put`, `get`, `exists`, `list`, `delete`. */
    readonly operation: string,
    /** The key (or list prefix) involved; `undefined` for a store-wide call. */
    readonly key: string | undefined,
    readonly location: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Permission denied: cannot ${operation}${key === undefined ? '' : ` ${JSON.stringify(key)}`} in ${location}: ${reason}`,
      options,
    );
  }
}

/**
 * The store could not answer now: rate limiting or a server error that outlived the client's own retries, a broken
 * connection, or a read that came back torn. The same call may succeed later, so this one is retryable.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  readonly retryable = true;

  constructor(
    readonly operation: string,
    readonly key: string | undefined,
    readonly location: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Cannot ${operation}${key === undefined ? '' : ` ${JSON.stringify(key)}`} in ${location} now: ${reason} (retryable)`,
      options,
    );
  }
}

/**
 * A stored object whose bytes disagree with what the store recorded for it (its size or checksum), the same way
 * on every read: a truncated or corrupted object. Retrying reads the same bytes, so this is not retryable; the
 * object must be deleted and produced again.
 */
export class ArtifactCorruptError extends Error {
  override readonly name = 'ArtifactCorruptError';
  readonly retryable = false;

  constructor(
    readonly key: string,
    readonly location: string,
    readonly expected: string,
    readonly found: string,
  ) {
    super(
      `Artifact ${JSON.stringify(key)} in ${location} is corrupt: expected ${expected}, found ${found} on two reads; ` +
        'delete it and produce it again',
    );
  }
}

/**
 * Whether retrying the call that threw `err` may succeed: `err.retryable` for the store errors above, and true
 * for anything else (plain I/O and network errors), the same default Temporal applies.
 */
export function isRetryableStoreError(err: unknown): boolean {
  if (typeof err === 'object' && err !== null && 'retryable' in err && typeof err.retryable === 'boolean')
    return err.retryable;
  return true;
}
