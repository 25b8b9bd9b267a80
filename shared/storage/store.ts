/**
 * The artifact store: the one interface through which the pipeline reads and writes checkpoints, manifests and
 * results, whatever holds them (a local folder, memory in tests, a GCS bucket in production). Keys follow the
 * rules in `keys.ts`; the layout of keys is described in docs/storage.md.
 */

export interface ArtifactStore {
  /** The adapter: 'local' | 'memory' | later 'gcs'. */
  readonly name: string;
  /**
   * Where the objects live, as a URL that `openStore` accepts (`file:///data/runs`, `memory://`,
   * `gs://bucket/prefix`); errors name it.
   */
  readonly location: string;
  /**
   * Create-only write: throws ArtifactExistsError if the key exists (immutable artifacts). Atomic: a reader never
   * sees a partial object; a crash mid-write leaves nothing at the key. Of two concurrent creates of one key,
   * exactly one succeeds.
   */
  create(key: string, data: Uint8Array): Promise<void>;
  /** Overwrite write, also atomic (for small manifests/pointers, e.g. 'latest checkpoint' markers). */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Throws ArtifactNotFoundError naming the key (and the store/location) if missing. The bytes are the caller's. */
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /**
   * Keys under a key-segment prefix ('' for all; 'a/b' matches 'a/b' and 'a/b/...', not 'a/bc'), sorted
   * lexicographically; never lists temp files of in-flight writes.
   */
  list(prefix: string): Promise<string[]>;
  /** Idempotent: deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}
