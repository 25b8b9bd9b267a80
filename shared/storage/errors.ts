/**
 * The errors the artifact stores throw. Each one names the key (quoted, as JSON) and the store's location, so a
 * message alone says which object of which bucket or folder was at fault. All of them describe a state that a
 * retry cannot change (a bad key, an object that is there or is not), so activities list their class names among
 * the non-retryable error types; plain I/O errors (EACCES, ENOSPC, network) propagate unchanged and stay
 * retryable.
 */

/** A key (or list prefix) that breaks the key rules of `keys.ts`. */
export class InvalidKeyError extends Error {
  override readonly name = 'InvalidKeyError';

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
