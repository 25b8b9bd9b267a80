/**
 * The in-memory adapter, for tests and fakes. Each `createMemoryStore()` is a fresh, private store (no module
 * state). It copies bytes on the way in and out, so a caller mutating a buffer cannot change a stored artifact,
 * and it enforces the same key rules as the local adapter, nesting included, so code tested here behaves the
 * same on disk. Every write is synchronous inside the event loop, hence atomic, and of two concurrent creates
 * exactly one succeeds.
 */
import { ArtifactExistsError, ArtifactNotFoundError, KeyConflictError } from './errors.ts';
import { keyAncestors, keyHasPrefix, validateKey, validatePrefix } from './keys.ts';
import type { ArtifactStore } from './store.ts';

const NAME = 'memory';
const LOCATION = 'memory://';

export function createMemoryStore(): ArtifactStore {
  const objects = new Map<string, Uint8Array>();

  const refuseNesting = (key: string): void => {
    const ancestor = keyAncestors(key).find((a) => objects.has(a));
    if (ancestor !== undefined) throw new KeyConflictError(key, ancestor, LOCATION);
    for (const other of objects.keys()) {
      if (other.startsWith(`${key}/`)) throw new KeyConflictError(key, other, LOCATION);
    }
  };

  return {
    name: NAME,
    location: LOCATION,
    async create(key, data) {
      validateKey(key);
      if (objects.has(key)) throw new ArtifactExistsError(key, LOCATION);
      refuseNesting(key);
      objects.set(key, new Uint8Array(data));
    },
    async put(key, data) {
      validateKey(key);
      if (!objects.has(key)) refuseNesting(key);
      objects.set(key, new Uint8Array(data));
    },
    async get(key) {
      validateKey(key);
      const data = objects.get(key);
      if (data === undefined) throw new ArtifactNotFoundError(key, LOCATION);
      return new Uint8Array(data);
    },
    async exists(key) {
      return objects.has(validateKey(key));
    },
    async list(prefix) {
      validatePrefix(prefix);
      return [...objects.keys()].filter((key) => keyHasPrefix(key, prefix)).sort();
    },
    async delete(key) {
      objects.delete(validateKey(key));
    },
  };
}
