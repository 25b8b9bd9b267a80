/**
 * The key rules, in one place for every adapter. A key is a `/`-separated path of non-empty segments made of
 * `[A-Za-z0-9._=-]`: the same string is a safe relative path on every filesystem, a GCS object name that needs no
 * escaping, and part of a URL. `.` and `..` segments are refused (unstorage's `PATH_TRAVERSE_RE` idea, applied per
 * segment), so a key can never leave the store's root, and segments that start with the temp-file prefix are
 * reserved for in-flight writes.
 *
 * Prefixes for `list` are key-segment prefixes: `a/b` matches `a/b` and `a/b/...`, never `a/bc`.
 */
import { InvalidKeyError } from './errors.ts';

/** Names of in-flight writes begin with this; no key segment may, so `list` can skip them safely. */
export const TEMP_PREFIX = '.tmp-';

/** Leaves room for the temp-file suffix within a filesystem's 255-byte name limit. */
export const MAX_SEGMENT_LENGTH = 200;
/** GCS's object-name limit. */
export const MAX_KEY_LENGTH = 1024;

const SEGMENT_RE = /^[A-Za-z0-9._=-]+$/;

/** Returns `key` unchanged, or throws an `InvalidKeyError` quoting it and saying which rule it broke. */
export function validateKey(key: string): string {
  const reason = keyProblem(key);
  if (reason !== undefined) throw new InvalidKeyError(key, reason);
  return key;
}

/** True when `key` follows the key rules (used to skip foreign files when listing a folder). */
export function isValidKey(key: string): boolean {
  return keyProblem(key) === undefined;
}

/** A list prefix is `''` (everything) or a key; a trailing `/` is refused rather than guessed at. */
export function validatePrefix(prefix: string): string {
  if (prefix === '') return prefix;
  const reason = keyProblem(prefix);
  if (reason !== undefined)
    throw new InvalidKeyError(prefix, `${reason} (a list prefix is '' or a key, without a trailing '/')`);
  return prefix;
}

/** True when `prefix` is '' or the first segments of `key` are exactly the segments of `prefix`. */
export function keyHasPrefix(key: string, prefix: string): boolean {
  return prefix === '' || key === prefix || key.startsWith(`${prefix}/`);
}

/** The proper ancestors of a key, nearest last: `a/b/c` gives `a`, `a/b`. */
export function keyAncestors(key: string): string[] {
  const segments = key.split('/');
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join('/'));
}

function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return `a key must be a string, got ${typeof key}`;
  if (key === '') return 'a key must not be empty';
  if (key.length > MAX_KEY_LENGTH)
    return `a key must be at most ${MAX_KEY_LENGTH} characters, got ${key.length}`;
  if (key.startsWith('/')) return "a key must not start with '/' (keys are relative to the store's root)";
  if (key.endsWith('/')) return "a key must not end with '/'";
  for (const segment of key.split('/')) {
    if (segment === '') return "a key must not contain empty segments ('//')";
    if (segment === '..' || segment === '.') return `a key must not contain '${segment}' segments`;
    if (!SEGMENT_RE.test(segment)) {
      return `segment ${JSON.stringify(segment)} has characters outside [A-Za-z0-9._=-]`;
    }
    if (segment.startsWith(TEMP_PREFIX)) {
      return `segment ${JSON.stringify(segment)} starts with ${JSON.stringify(TEMP_PREFIX)}, which is reserved for in-flight writes`;
    }
    if (segment.length > MAX_SEGMENT_LENGTH) {
      return `segment ${JSON.stringify(segment.slice(0, 20) + '...')} is longer than ${MAX_SEGMENT_LENGTH} characters`;
    }
  }
  return undefined;
}
