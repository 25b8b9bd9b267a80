/**
 * The local-disk adapter: key `a/b/c.safetensors` is the file `<root>/a/b/c.safetensors`, folders are created as
 * needed and pruned when their last object is deleted.
 *
 * Every write goes to a temp file in the target's own folder (`.tmp-<name>.<pid>.<random>`), which is written in
 * full, fsynced and closed, then moved into place, and the folder is fsynced:
 * - `put` renames the temp file over the key (rename(2) replaces atomically);
 * - `create` hard-links it to the key (link(2) fails with EEXIST when the key exists, atomically, so of two
 *   concurrent creators exactly one succeeds), then removes the temp name.
 * A reader therefore sees either nothing or the whole object. A writer killed mid-write leaves only a temp file,
 * which `list` never shows and which blocks nothing (temp names are unique); it can be deleted at leisure.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ArtifactExistsError,
  ArtifactNotFoundError,
  KeyConflictError,
  StoreConfigError,
  missingOptionError,
} from './errors.ts';
import { TEMP_PREFIX, isValidKey, keyAncestors, validateKey, validatePrefix } from './keys.ts';
import type { ArtifactStore } from './store.ts';

export interface LocalStoreOptions {
  /** The folder holding the artifacts; created on the first write. Relative paths resolve against the cwd. */
  root: string;
}

const NAME = 'local';
/** How often a write retries when a concurrent delete pruned the folder it had just created. */
const PRUNE_RACE_RETRIES = 5;

export function createLocalStore(options: LocalStoreOptions): ArtifactStore {
  const rootOption: unknown = (options as Partial<LocalStoreOptions> | undefined)?.root;
  if (typeof rootOption !== 'string' || rootOption === '') {
    throw missingOptionError(NAME, 'root', "createLocalStore({ root: '/data/artifacts' })");
  }
  const root = resolve(rootOption);
  const location = pathToFileURL(root).href;
  const pathOf = (key: string): string => join(root, ...validateKey(key).split('/'));

  /** The first key found at or under `key`'s folder, to name what a write collided with. */
  const keyUnder = async (key: string): Promise<string> => (await listUnder(root, key))[0] ?? `${key}/`;

  /** The existing key that is an ancestor of `key`, if a file sits where a folder is needed. */
  const fileAncestor = async (key: string): Promise<string | undefined> => {
    for (const ancestor of keyAncestors(key)) {
      if ((await statOrUndefined(join(root, ...ancestor.split('/'))))?.isFile()) return ancestor;
    }
    return undefined;
  };

  /** Writes `data` to a fresh temp file beside `target`, fsynced and closed; returns the temp path. */
  const writeTemp = async (key: string, target: string, data: Uint8Array): Promise<string> => {
    const dir = dirname(target);
    const temp = join(
      dir,
      `${TEMP_PREFIX}${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}`,
    );
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dir, { recursive: true });
      } catch (err) {
        const ancestor =
          errno(err) === 'EEXIST' || errno(err) === 'ENOTDIR' ? await fileAncestor(key) : undefined;
        if (ancestor !== undefined) throw new KeyConflictError(key, ancestor, location);
        throw err;
      }
      let handle;
      try {
        handle = await open(temp, 'wx');
      } catch (err) {
        if (errno(err) === 'ENOENT' && attempt < PRUNE_RACE_RETRIES) continue; // folder pruned meanwhile
        throw err;
      }
      try {
        await handle.writeFile(data);
        await handle.sync();
      } catch (err) {
        await handle.close();
        await rm(temp, { force: true });
        throw err;
      }
      await handle.close();
      return temp;
    }
  };

  const write = async (mode: 'create' | 'put', key: string, data: Uint8Array): Promise<void> => {
    const target = pathOf(key);
    // Fast path for retries: no need to write a large temp file to learn the key exists (link still decides).
    if (mode === 'create' && (await statOrUndefined(target))?.isFile())
      throw new ArtifactExistsError(key, location);
    const temp = await writeTemp(key, target, data);
    try {
      if (mode === 'create') {
        await link(temp, target).catch(async (err: unknown) => {
          const code = errno(err);
          if (code === 'EEXIST') {
            if ((await statOrUndefined(target))?.isDirectory()) {
              throw new KeyConflictError(key, await keyUnder(key), location);
            }
            throw new ArtifactExistsError(key, location);
          }
          if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
            throw new StoreConfigError(
              NAME,
              `create-only writes need hard links (link(2)), which the filesystem at ${root} refused (${code}); ` +
                'use a local disk for the artifact root',
              { cause: err },
            );
          }
          throw err;
        });
      } else {
        await rename(temp, target).catch(async (err: unknown) => {
          const code = errno(err);
          if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
            throw new KeyConflictError(key, await keyUnder(key), location);
          }
          throw err;
        });
      }
      await syncDir(dirname(target));
    } finally {
      await rm(temp, { force: true });
    }
  };

  return {
    name: NAME,
    location,
    create: (key, data) => write('create', key, data),
    put: (key, data) => write('put', key, data),
    async get(key) {
      const path = pathOf(key);
      try {
        const buffer = await readFile(path);
        return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      } catch (err) {
        const code = errno(err);
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR')
          throw new ArtifactNotFoundError(key, location, { cause: err });
        throw err;
      }
    },
    async exists(key) {
      return (await statOrUndefined(pathOf(key)))?.isFile() ?? false;
    },
    async list(prefix) {
      validatePrefix(prefix);
      return (await listUnder(root, prefix)).sort();
    },
    async delete(key) {
      const path = pathOf(key);
      try {
        await unlink(path);
      } catch (err) {
        const code = errno(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') return; // already gone
        // A folder is not a key, so there is nothing to delete (Linux says EISDIR, macOS EPERM).
        if ((code === 'EISDIR' || code === 'EPERM') && (await statOrUndefined(path))?.isDirectory()) return;
        throw err;
      }
      await pruneEmptyFolders(root, dirname(path));
    },
  };
}

/** Keys at or under a key-segment prefix, unsorted; skips temp files and names that are not valid keys. */
async function listUnder(root: string, prefix: string): Promise<string[]> {
  const start = prefix === '' ? root : join(root, ...prefix.split('/'));
  const info = await statOrUndefined(start);
  if (info === undefined) return [];
  if (info.isFile()) return prefix === '' ? [] : [prefix];
  if (!info.isDirectory()) return [];
  const keys: string[] = [];
  const walk = async (dir: string, keyPrefix: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return; // pruned while we walked
      throw err;
    }
    await Promise.all(
      entries.map(async (entry) => {
        if (entry.name.startsWith(TEMP_PREFIX)) return; // an in-flight write (the key rules also refuse it)
        const key = keyPrefix === '' ? entry.name : `${keyPrefix}/${entry.name}`;
        if (!isValidKey(key)) return; // a foreign file (e.g. 'notes.txt~' or 'a b'), not an artifact
        if (entry.isDirectory()) await walk(join(dir, entry.name), key);
        else if (entry.isFile()) keys.push(key);
      }),
    );
  };
  await walk(start, prefix);
  return keys;
}

/** Removes `dir` and its parents up to (not including) `root` while they are empty. */
async function pruneEmptyFolders(root: string, dir: string): Promise<void> {
  for (let current = dir; current !== root && current.startsWith(root); current = dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return; // not empty (ENOTEMPTY/EEXIST), already gone, or not ours to remove: stop
    }
  }
}

/** Makes a rename or link in `dir` durable; filesystems that cannot fsync a folder are skipped. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (err) {
    const code = errno(err);
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw err;
  } finally {
    await handle?.close();
  }
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined;
    throw err;
  }
}

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}
