/**
 * The Google Cloud Storage adapter: key `a/b/c.safetensors` of the store `gs://bucket/prefix` is the object
 * `prefix/a/b/c.safetensors` of `bucket`. `openStore` imports this module lazily, so the GCS client is loaded
 * only when a `gs://` store is opened.
 *
 * - Writes: GCS makes an object visible only once its upload is complete, so no reader ever sees a partial
 *   object and an interrupted upload leaves nothing. Objects up to `resumableThreshold` bytes go in one multipart
 *   request, larger ones as a resumable upload (in `chunkSize` chunks, each retried on its own). Every upload
 *   declares the CRC32C and MD5 of the bytes, which GCS checks before it creates the object.
 * - `create` sends `ifGenerationMatch: 0`: GCS creates the object only if no live object has the name, so of two
 *   concurrent creates exactly one succeeds and the other gets HTTP 412 (`ArtifactExistsError`).
 * - `get` reads the object's metadata, downloads exactly that generation, and checks its size, CRC32C and MD5. A
 *   mismatch is read once more: a mismatch that repeats is a corrupt object (`ArtifactCorruptError`, not
 *   retryable), a different result is a torn read (`StoreUnavailableError`, retryable).
 * - GCS has no folders, so the key-nesting rule (`KeyConflictError`) is checked before each write, with one
 *   metadata read per ancestor and one listing, all in parallel. It is a check, not a lock: two writers racing to
 *   write `a` and `a/b` at the same moment can both succeed. The pipeline's layout never nests keys.
 * - A 404 can mean a missing object or a missing bucket. Writes and listings can only 404 for the bucket; for
 *   reads, the first 404 is followed by one listing of the bucket, which tells them apart (it needs only
 *   `storage.objects.list`, not bucket permissions), and a bucket seen once is not probed again.
 *
 * The client is `@google-cloud/storage` 7.x (Node 20). In production it uses the application default
 * credentials; with `endpoint` (an emulator such as fake-gcs-server) it sends no credentials. This module never
 * reads the environment: callers pass the endpoint (see `openStore`).
 */
import { createHash } from 'node:crypto';
import { CRC32C, IdempotencyStrategy, Storage, type Bucket, type File } from '@google-cloud/storage';
import {
  ArtifactCorruptError,
  ArtifactExistsError,
  ArtifactNotFoundError,
  KeyConflictError,
  StoreConfigError,
  StoreNotFoundError,
  StorePermissionError,
  StoreUnavailableError,
  missingOptionError,
} from './errors.ts';
import { isValidKey, keyAncestors, validateKey, validatePrefix } from './keys.ts';
import type { ArtifactStore } from './store.ts';

export interface GcsStoreOptions {
  /** The bucket name, e.g. `hoptm-artifacts`. */
  bucket: string;
  /** Where the store's keys start inside the bucket: '' (the whole bucket) or a key such as `runs/prod`. */
  prefix?: string;
  /**
   * The API endpoint of a GCS emulator (fake-gcs-server: `http://127.0.0.1:4443`). No credentials are sent to it.
   * Leave it out in production: the client then talks to storage.googleapis.com with the default credentials.
   */
  endpoint?: string;
  /** The project, for an emulator that wants one (default `test` with an endpoint, the credentials' otherwise). */
  projectId?: string;
  /** Objects larger than this many bytes go as a resumable upload (default 8 MiB). */
  resumableThreshold?: number;
  /** The chunk size of resumable uploads, a multiple of 256 KiB (default 16 MiB). */
  chunkSize?: number;
  /**
   * The client's own retries of 408/429/5xx and broken connections (`@google-cloud/storage` retryOptions: default
   * 3 retries, exponential backoff from 1 s, at most 600 s in all). What still fails is a `StoreUnavailableError`.
   */
  retry?: {
    maxRetries?: number;
    maxRetryDelay?: number;
    retryDelayMultiplier?: number;
    totalTimeout?: number;
  };
}

const NAME = 'gcs';
const MiB = 1024 * 1024;
/** GCS bucket names: 3-63 characters (up to 222 with dots) of a-z 0-9 - _ ., starting and ending alphanumeric. */
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
/** How often `get` starts over when the object was replaced between its metadata and its download. */
const REPLACED_RETRIES = 3;
/** Connection-level error codes that a retry can outlive. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Parses `gs://bucket[/prefix][/]` into the adapter's options; anything else is a `StoreConfigError`. */
export function parseGcsUrl(url: string): { bucket: string; prefix: string } {
  const match = /^gs:\/\/([^/?#]*)(?:\/([^?#]*))?$/i.exec(url);
  if (match === null) {
    throw new StoreConfigError(
      NAME,
      `${JSON.stringify(url)} is not a GCS store URL: write gs://bucket or gs://bucket/prefix (no query or fragment)`,
    );
  }
  const bucket = match[1]!;
  const prefix = (match[2] ?? '').replace(/\/$/, '');
  checkBucket(bucket, url);
  checkPrefix(prefix, url);
  return { bucket, prefix };
}

export function createGcsStore(options: GcsStoreOptions): ArtifactStore {
  const bucketName: unknown = (options as Partial<GcsStoreOptions> | undefined)?.bucket;
  if (typeof bucketName !== 'string' || bucketName === '') {
    throw missingOptionError(NAME, 'bucket', "createGcsStore({ bucket: 'hoptm-artifacts', prefix: 'runs' })");
  }
  const prefix = options.prefix ?? '';
  checkBucket(bucketName, bucketName);
  checkPrefix(prefix, prefix);
  const location = prefix === '' ? `gs://${bucketName}` : `gs://${bucketName}/${prefix}`;
  const resumableThreshold = options.resumableThreshold ?? 8 * MiB;
  const chunkSize = options.chunkSize ?? 16 * MiB;
  if (chunkSize <= 0 || chunkSize % (256 * 1024) !== 0) {
    throw new StoreConfigError(NAME, `chunkSize must be a positive multiple of 256 KiB, got ${chunkSize}`);
  }

  let storage: Storage;
  try {
    storage = new Storage({
      ...(options.endpoint === undefined
        ? options.projectId === undefined
          ? {}
          : { projectId: options.projectId }
        : { apiEndpoint: options.endpoint, projectId: options.projectId ?? 'test' }),
      retryOptions: {
        ...options.retry,
        // Every call the adapter makes may be repeated safely: `create` is guarded by its generation precondition,
        // `put` writes the same bytes again, `delete` ignores a missing object. RetryAlways also keeps the client
        // from switching retries off for the whole client while an unconditional upload runs.
        idempotencyStrategy: IdempotencyStrategy.RetryAlways,
      },
    });
  } catch (err) {
    throw new StoreConfigError(NAME, `Cannot create the GCS client for ${location}: ${messageOf(err)}`, {
      cause: err,
    });
  }
  const bucket: Bucket = storage.bucket(bucketName);
  const objectName = (key: string): string => (prefix === '' ? key : `${prefix}/${key}`);
  const namePrefix = prefix === '' ? '' : `${prefix}/`;

  /** Set once any call has shown that the bucket exists, so later 404s need no probe. */
  let bucketSeen = false;
  const seen = <T>(value: T): T => {
    bucketSeen = true;
    return value;
  };

  /** Turns a client error into the store's error classes; `notFound` decides what a 404 means. */
  const failure = (err: unknown, operation: string, key: string | undefined): Error => {
    if (isStoreError(err)) return err;
    const status = httpStatus(err);
    const reason = messageOf(err);
    if (status === 401 || status === 403)
      return new StorePermissionError(operation, key, location, reason, { cause: err });
    if (status === 404)
      return new StoreNotFoundError(
        location,
        `bucket ${JSON.stringify(bucketName)} does not exist (${reason})`,
        { cause: err },
      );
    if (
      status === 408 ||
      status === 429 ||
      (status !== undefined && status >= 500) ||
      isTransient(err) ||
      // A resumable upload that lost its session state stops with this; a new upload (a retry) is the remedy.
      (err instanceof RangeError && /initiate a new upload/i.test(reason))
    )
      return new StoreUnavailableError(operation, key, location, reason, { cause: err });
    return err instanceof Error ? err : new Error(reason);
  };

  /** After a 404 on an object: throws StoreNotFoundError if the bucket is missing, else returns. */
  const probeBucket = async (operation: string, key: string, notFound: unknown): Promise<void> => {
    if (bucketSeen) return;
    try {
      await bucket.getFiles({ maxResults: 1, autoPaginate: false });
      bucketSeen = true;
    } catch (err) {
      if (httpStatus(err) === 404) throw failure(notFound, operation, key);
      throw failure(err, operation, key);
    }
  };

  /** The object's metadata, or undefined when there is no live object at `key`. */
  const metadataOf = async (operation: string, key: string) => {
    try {
      const [metadata] = await bucket.file(objectName(key)).getMetadata();
      return seen(metadata);
    } catch (err) {
      if (httpStatus(err) !== 404) throw failure(err, operation, key);
      await probeBucket(operation, key, err);
      return undefined;
    }
  };

  /** Names of valid keys at or under the object-name prefix `under` (unsorted), at most `limit` when given. */
  const keysUnder = async (
    operation: string,
    key: string | undefined,
    under: string,
    limit?: number,
  ): Promise<string[]> => {
    let files: File[];
    try {
      [files] = await bucket.getFiles(
        limit === undefined ? { prefix: under } : { prefix: under, maxResults: limit, autoPaginate: false },
      );
    } catch (err) {
      throw failure(err, operation, key);
    }
    bucketSeen = true;
    const keys: string[] = [];
    // Objects that are not valid keys (a console "folder" `x/`, `notes~`, another tool's files) are not artifacts.
    for (const file of files) {
      const key = file.name.slice(namePrefix.length);
      if (file.name.startsWith(namePrefix) && isValidKey(key)) keys.push(key);
    }
    return keys;
  };

  /** Throws KeyConflictError when a key is an ancestor of `key` or lies under it; returns whether `key` exists. */
  const checkNesting = async (operation: string, key: string): Promise<boolean> => {
    const [self, under, ...ancestors] = await Promise.all([
      metadataOf(operation, key),
      keysUnder(operation, key, `${objectName(key)}/`, 100),
      ...keyAncestors(key).map(async (ancestor) =>
        (await metadataOf(operation, ancestor)) === undefined ? undefined : ancestor,
      ),
    ]);
    if (self !== undefined) return true;
    const ancestor = ancestors.find((a) => a !== undefined);
    if (ancestor !== undefined) throw new KeyConflictError(key, ancestor, location);
    const first = under.sort()[0];
    if (first !== undefined) throw new KeyConflictError(key, first, location);
    return false;
  };

  const upload = async (mode: 'create' | 'put', key: string, data: Uint8Array): Promise<void> => {
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const crc32c = crc32cOf(body);
    const md5Hash = createHash('md5').update(body).digest('base64');
    const file = bucket.file(objectName(key));
    const resumable = body.length > resumableThreshold;
    try {
      await file.save(body, {
        resumable,
        ...(resumable ? { chunkSize } : {}),
        // The declared hashes make GCS refuse a corrupted upload before the object exists; the client's own
        // validation would instead check afterwards and delete the object, whatever generation it is by then.
        validation: false,
        metadata: { contentType: 'application/octet-stream', crc32c, md5Hash },
        ...(mode === 'create' ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      });
    } catch (err) {
      if (mode === 'create' && httpStatus(err) === 412) throw new ArtifactExistsError(key, location);
      throw failure(err, mode, key);
    }
    bucketSeen = true;
    // What the service says it stored must be what we sent (GCS checks the declared hashes itself; an emulator
    // may not). Otherwise the generation we wrote is removed, if nothing replaced it yet, and the write fails.
    const stored = file.metadata;
    if (Number(stored.size) !== body.length || (stored.crc32c !== undefined && stored.crc32c !== crc32c)) {
      await file
        .delete({ ifGenerationMatch: stored.generation ?? 0, ignoreNotFound: true })
        .catch(() => undefined);
      throw new StoreUnavailableError(
        mode,
        key,
        location,
        `the service stored ${describe(Number(stored.size), stored.crc32c)} instead of the ${describe(body.length, crc32c)} sent; the object was removed`,
      );
    }
  };

  /** Downloads generation `generation` of `key`; undefined if that generation is gone (replaced or deleted). */
  const download = async (key: string, generation: string | number): Promise<Buffer | undefined> => {
    try {
      const [contents] = await bucket.file(objectName(key), { generation }).download({ validation: false });
      return contents;
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw failure(err, 'get', key);
    }
  };

  return {
    name: NAME,
    location,
    async create(key, data) {
      validateKey(key);
      // Fast path for retries, as on disk: no upload to learn that the key exists (the precondition still decides).
      if (await checkNesting('create', key)) throw new ArtifactExistsError(key, location);
      await upload('create', key, data);
    },
    async put(key, data) {
      validateKey(key);
      await checkNesting('put', key);
      await upload('put', key, data);
    },
    async get(key) {
      validateKey(key);
      for (let attempt = 0; ; attempt++) {
        const metadata = await metadataOf('get', key);
        if (metadata === undefined) throw new ArtifactNotFoundError(key, location);
        const generation = metadata.generation!;
        const expected = { size: Number(metadata.size), crc32c: metadata.crc32c, md5: metadata.md5Hash };
        const first = await download(key, generation);
        if (first === undefined) {
          if (attempt < REPLACED_RETRIES) continue; // replaced or deleted since its metadata was read
          throw new StoreUnavailableError('get', key, location, 'the object kept changing while it was read');
        }
        const firstProblem = mismatch(first, expected);
        if (firstProblem === undefined) return ownBytes(first);
        const second = await download(key, generation);
        if (second === undefined) continue;
        const secondProblem = mismatch(second, expected);
        if (secondProblem === undefined) return ownBytes(second); // the first read was torn on the way
        if (secondProblem.found === firstProblem.found) {
          throw new ArtifactCorruptError(
            key,
            `${location} (object ${JSON.stringify(objectName(key))}, generation ${generation})`,
            firstProblem.expected,
            firstProblem.found,
          );
        }
        throw new StoreUnavailableError(
          'get',
          key,
          location,
          `two reads of generation ${generation} disagree with its ${firstProblem.expected} and with each other ` +
            `(${firstProblem.found}; ${secondProblem.found}): torn reads`,
        );
      }
    },
    async exists(key) {
      validateKey(key);
      return (await metadataOf('exists', key)) !== undefined;
    },
    async list(listPrefix) {
      validatePrefix(listPrefix);
      if (listPrefix === '') return (await keysUnder('list', undefined, namePrefix)).sort();
      const [under, self] = await Promise.all([
        keysUnder('list', listPrefix, `${objectName(listPrefix)}/`),
        metadataOf('list', listPrefix),
      ]);
      return (self === undefined ? under : [listPrefix, ...under]).sort();
    },
    async delete(key) {
      validateKey(key);
      try {
        await bucket.file(objectName(key)).delete();
        bucketSeen = true;
      } catch (err) {
        if (httpStatus(err) !== 404) throw failure(err, 'delete', key);
        await probeBucket('delete', key, err); // already gone, or never written: nothing to do
      }
    },
  };
}

function checkBucket(bucket: string, source: string): void {
  if (!BUCKET_RE.test(bucket) || bucket.includes('..') || (bucket.length > 63 && !bucket.includes('.'))) {
    throw new StoreConfigError(
      NAME,
      `${JSON.stringify(source)}: ${JSON.stringify(bucket)} is not a valid bucket name (3-63 characters of a-z, 0-9, ` +
        "'-', '_', '.', starting and ending with a letter or digit)",
    );
  }
}

function checkPrefix(prefix: string, source: string): void {
  try {
    validatePrefix(prefix);
  } catch (err) {
    throw new StoreConfigError(
      NAME,
      `${JSON.stringify(source)}: the prefix is not usable: ${messageOf(err)}`,
      {
        cause: err,
      },
    );
  }
}

function crc32cOf(data: Buffer): string {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
}

function describe(size: number, crc32c: string | undefined): string {
  return `${size} bytes${crc32c === undefined ? '' : ` with CRC32C ${crc32c}`}`;
}

/** Why `data` is not the object described by `expected`, or undefined when it is. */
function mismatch(
  data: Buffer,
  expected: { size: number; crc32c: string | undefined; md5: string | undefined },
): { expected: string; found: string } | undefined {
  const crc32c = crc32cOf(data);
  const md5 = createHash('md5').update(data).digest('base64');
  const sizeOk = data.length === expected.size;
  const crcOk = expected.crc32c === undefined || expected.crc32c === crc32c;
  const md5Ok = expected.md5 === undefined || expected.md5 === md5; // composite objects have no MD5
  if (sizeOk && crcOk && md5Ok) return undefined;
  const want = [`${expected.size} bytes`];
  const got = [`${data.length} bytes`];
  if (expected.crc32c !== undefined) {
    want.push(`CRC32C ${expected.crc32c}`);
    got.push(`CRC32C ${crc32c}`);
  }
  if (expected.md5 !== undefined) {
    want.push(`MD5 ${expected.md5}`);
    got.push(`MD5 ${md5}`);
  }
  return { expected: want.join(', '), found: got.join(', ') };
}

/** The downloaded bytes as a Uint8Array of their own (a small Buffer may sit in Node's shared pool). */
function ownBytes(buffer: Buffer): Uint8Array {
  if (buffer.byteOffset === 0 && buffer.buffer.byteLength === buffer.byteLength)
    return new Uint8Array(buffer.buffer, 0, buffer.byteLength);
  return new Uint8Array(buffer);
}

function isStoreError(err: unknown): err is Error {
  return (
    err instanceof ArtifactExistsError ||
    err instanceof ArtifactNotFoundError ||
    err instanceof ArtifactCorruptError ||
    err instanceof KeyConflictError ||
    err instanceof StoreNotFoundError ||
    err instanceof StorePermissionError ||
    err instanceof StoreUnavailableError
  );
}

/** The HTTP status of a client error: ApiError's numeric `code`, a Gaxios error's `status` or `response.status`. */
function httpStatus(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const record = e as { code?: unknown; status?: unknown; response?: { status?: unknown } };
    for (const value of [record.code, record.status, record.response?.status]) {
      if (typeof value === 'number' && value >= 100 && value < 600) return value;
      if (typeof value === 'string' && /^[1-5]\d\d$/.test(value)) return Number(value);
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function isTransient(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; depth++) {
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && TRANSIENT_CODES.has(code.toUpperCase())) return true;
    if (name === 'AbortError' || name === 'FetchError') return true;
    if (
      typeof message === 'string' &&
      /socket hang up|premature close|aborted|other side closed/i.test(message)
    )
      return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
