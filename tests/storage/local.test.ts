import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactNotFoundError, StoreConfigError } from '../../shared/storage/errors.ts';
import { TEMP_PREFIX } from '../../shared/storage/keys.ts';
import { createLocalStore, type LocalStoreOptions } from '../../shared/storage/local.ts';
import { expectSameBytes, testStore } from './contract.ts';

let parent: string;
let root: string;
let count = 0;

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'hoptm-storage-'));
});
afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

/** A fresh store in a new folder; `root` is that folder, for the checks on disk. */
function freshStore() {
  root = join(parent, String(count++));
  return createLocalStore({ root });
}

const KILLED_WRITER = fileURLToPath(new URL('./helpers/killed-writer.ts', import.meta.url));

/** Runs killed-writer.ts until it has half-written its temp file, then SIGKILLs it. */
async function killWriterMidWrite(storeRoot: string, key: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', KILLED_WRITER, storeRoot, key], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(signal ?? code)),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('half-written')) resolve();
    });
    child.on('exit', () => reject(new Error(`killed-writer exited before writing: ${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
}

const tempFilesIn = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith(TEMP_PREFIX));

testStore('local', freshStore, () => {
  describe('local only', () => {
    it('keeps the bytes at <root>/<key> on disk, creating folders as needed', async () => {
      const store = createLocalStore({ root });
      const data = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
      await store.create('run1/expert/3/epoch/0007.safetensors', data);
      const path = join(root, 'run1', 'expert', '3', 'epoch', '0007.safetensors');
      expectSameBytes(new Uint8Array(readFileSync(path)), data);
      expect(tempFilesIn(join(root, 'run1', 'expert', '3', 'epoch'))).toEqual([]);
      expect(store.location).toBe(pathToFileURL(root).href);
    });

    it('reads files placed under the root by other tools', async () => {
      mkdirSync(join(root, 'imported'), { recursive: true });
      writeFileSync(join(root, 'imported', 'weights.safetensors'), 'abc');
      const store = createLocalStore({ root });
      expect(await store.list('')).toEqual(['imported/weights.safetensors']);
      expect(new TextDecoder().decode(await store.get('imported/weights.safetensors'))).toBe('abc');
    });

    it('list skips temp files and names that are not valid keys', async () => {
      const store = createLocalStore({ root });
      await store.create('a/kept.bin', Uint8Array.of(1));
      writeFileSync(join(root, 'a', `${TEMP_PREFIX}kept.bin.123.abcdef`), 'partial');
      writeFileSync(join(root, `${TEMP_PREFIX}top.bin.9.ff`), 'partial');
      writeFileSync(join(root, 'a', 'notes~'), 'editor backup');
      writeFileSync(join(root, 'has space.txt'), 'x');
      expect(await store.list('')).toEqual(['a/kept.bin']);
      expect(await store.list('a')).toEqual(['a/kept.bin']);
    });

    it('a writer killed mid-write leaves nothing at the key, and a later create succeeds', async () => {
      const key = 'run1/distill/0/checkpoint/000010.safetensors';
      const dir = join(root, 'run1', 'distill', '0', 'checkpoint');
      await killWriterMidWrite(root, key);

      const [leftover, ...others] = tempFilesIn(dir);
      expect(others).toEqual([]);
      expect(statSync(join(dir, leftover!)).size).toBe(512 * 1024); // half of the 1 MiB: the crash was mid-write
      expect(existsSync(join(dir, '000010.safetensors'))).toBe(false);

      const store = createLocalStore({ root });
      expect(await store.list('')).toEqual([]);
      expect(await store.exists(key)).toBe(false);
      await expect(store.get(key)).rejects.toThrow(ArtifactNotFoundError);

      const data = new Uint8Array(1 << 20).fill(9);
      await store.create(key, data);
      expectSameBytes(await store.get(key), data);
      expect(await store.list('')).toEqual([key]);
      expect(tempFilesIn(dir)).toEqual([leftover]); // harmless, never listed, removable at leisure
    });

    it('delete prunes folders left empty, but never the root', async () => {
      const store = createLocalStore({ root });
      await store.create('run1/expert/0/epoch/0000.safetensors', Uint8Array.of(1));
      await store.create('run1/expert/1/epoch/0000.safetensors', Uint8Array.of(1));
      await store.delete('run1/expert/0/epoch/0000.safetensors');
      expect(existsSync(join(root, 'run1', 'expert', '0'))).toBe(false);
      expect(existsSync(join(root, 'run1', 'expert', '1', 'epoch'))).toBe(true);
      await store.delete('run1/expert/1/epoch/0000.safetensors');
      expect(readdirSync(root)).toEqual([]);
    });

    it('a root that does not exist yet reads as empty and is created by the first write', async () => {
      const store = createLocalStore({ root: join(root, 'not', 'yet') });
      expect(await store.list('')).toEqual([]);
      expect(await store.exists('k')).toBe(false);
      await expect(store.get('k')).rejects.toThrow(
        `not found in ${pathToFileURL(join(root, 'not', 'yet')).href}`,
      );
      await store.put('k', Uint8Array.of(1));
      expect(existsSync(join(root, 'not', 'yet', 'k'))).toBe(true);
    });
  });
});

describe('createLocalStore options', () => {
  it.each([
    ['no options', undefined],
    ['no root', {}],
    ['an empty root', { root: '' }],
  ])('throws naming the adapter and the option when given %s', (_, options) => {
    expect(() => createLocalStore(options as unknown as LocalStoreOptions)).toThrow(StoreConfigError);
    expect(() =>
      createLocalStore(options as unknown as LocalStoreOptions),
    ).toThrowErrorMatchingInlineSnapshot(
      `[StoreConfigError: [storage:local] Missing required option \`root\` (for example createLocalStore({ root: '/data/artifacts' }))]`,
    );
  });

  it('resolves a relative root against the working directory', () => {
    const store = createLocalStore({ root: 'relative/artifacts' });
    expect(store.location).toBe(pathToFileURL(join(process.cwd(), 'relative', 'artifacts')).href);
  });
});
