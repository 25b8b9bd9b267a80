/**
 * The contract every ArtifactStore adapter meets (after unstorage's `testDriver`): the same behaviours, run on
 * each adapter by its own test file, which adds the checks only that adapter can make through `additionalTests`.
 * Every test gets a fresh, empty store from the factory.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactExistsError,
  ArtifactNotFoundError,
  InvalidKeyError,
  KeyConflictError,
} from '../../shared/storage/errors.ts';
import { TEMP_PREFIX } from '../../shared/storage/keys.ts';
import type { ArtifactStore } from '../../shared/storage/store.ts';

export interface StoreTestContext {
  /** The store under test, fresh for each test. */
  store: ArtifactStore;
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** Byte equality that stays fast on megabytes (deep equality walks element by element) and names the first difference. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.length, 'length').toBe(expected.length);
  const at = Buffer.from(actual.buffer, actual.byteOffset, actual.length).compare(
    Buffer.from(expected.buffer, expected.byteOffset, expected.length),
  );
  if (at !== 0) {
    const i = actual.findIndex((v, j) => v !== expected[j]);
    expect.fail(`bytes differ first at index ${i}: ${actual[i]} != ${expected[i]}`);
  }
}
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Keys that break one rule each, with the rule's words that the error must contain. */
export const INVALID_KEYS: [key: string, rule: string][] = [
  ['', 'empty'],
  ['/abs/key', "start with '/'"],
  ['a//b', 'empty segments'],
  ['a/', "end with '/'"],
  ['..', "'..' segments"],
  ['a/../b', "'..' segments"],
  ['../escape', "'..' segments"],
  ['./a', "'.' segments"],
  ['a/./b', "'.' segments"],
  ['has space', 'outside [A-Za-z0-9._=-]'],
  ['back\\slash', 'outside [A-Za-z0-9._=-]'],
  ['colon:key', 'outside [A-Za-z0-9._=-]'],
  ['caf\u00e9', 'outside [A-Za-z0-9._=-]'],
  ['new\nline', 'outside [A-Za-z0-9._=-]'],
  [`${TEMP_PREFIX}x`, 'reserved for in-flight writes'],
  [`run/${TEMP_PREFIX}ckpt`, 'reserved for in-flight writes'],
  [`a/${'s'.repeat(201)}`, 'longer than 200'],
  [Array.from({ length: 100 }, () => 'segment-01').join('/'), 'at most 1024'],
];

export function testStore(
  name: string,
  factory: () => ArtifactStore | Promise<ArtifactStore>,
  additionalTests?: (ctx: StoreTestContext) => void,
): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    const ctx = {} as StoreTestContext;
    beforeEach(async () => {
      ctx.store = await factory();
    });

    it('carries its adapter name and a location', () => {
      expect(ctx.store.name).toBe(name);
      expect(ctx.store.location).toMatch(/^[a-z]+:\/\//);
    });

    it('starts empty', async () => {
      const { store } = ctx;
      expect(await store.list('')).toEqual([]);
      expect(await store.exists('run1/a.bin')).toBe(false);
    });

    it('create, then get, exists and list', async () => {
      const { store } = ctx;
      await store.create('run1/expert/0/epoch/0001.safetensors', bytes(1, 2, 3));
      expect(await store.get('run1/expert/0/epoch/0001.safetensors')).toEqual(bytes(1, 2, 3));
      expect(await store.exists('run1/expert/0/epoch/0001.safetensors')).toBe(true);
      expect(await store.exists('run1/expert/0/epoch')).toBe(false); // a folder is not a key
      expect(await store.list('')).toEqual(['run1/expert/0/epoch/0001.safetensors']);
    });

    it('get returns a Uint8Array that belongs to the caller', async () => {
      const { store } = ctx;
      const data = bytes(1, 2, 3);
      await store.create('k', data);
      data[0] = 99;
      const first = await store.get('k');
      expect(first).toBeInstanceOf(Uint8Array);
      expect(first).toEqual(bytes(1, 2, 3));
      first[1] = 99;
      expect(await store.get('k')).toEqual(bytes(1, 2, 3));
    });

    it('get of a missing key throws ArtifactNotFoundError naming the key and the store', async () => {
      const { store } = ctx;
      const err = await store.get('run1/missing.bin').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArtifactNotFoundError);
      expect((err as Error).message).toBe(`Artifact "run1/missing.bin" not found in ${store.location}`);
      expect(err).toMatchObject({ key: 'run1/missing.bin', location: store.location });
    });

    it('create refuses an existing key with ArtifactExistsError and keeps the first bytes', async () => {
      const { store } = ctx;
      await store.create('run1/results/final.json', text('first'));
      const err = await store.create('run1/results/final.json', text('second')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArtifactExistsError);
      expect((err as Error).message).toContain(
        `"run1/results/final.json" already exists in ${store.location}`,
      );
      expect(await store.get('run1/results/final.json')).toEqual(text('first'));
    });

    it('create refuses a key that put wrote', async () => {
      const { store } = ctx;
      await store.put('run1/latest.json', text('{}'));
      await expect(store.create('run1/latest.json', text('{}'))).rejects.toThrow(ArtifactExistsError);
    });

    it('put creates, then overwrites', async () => {
      const { store } = ctx;
      await store.put('run1/distill/0/checkpoint/latest.json', text('{"iteration":1}'));
      expect(await store.get('run1/distill/0/checkpoint/latest.json')).toEqual(text('{"iteration":1}'));
      await store.put('run1/distill/0/checkpoint/latest.json', text('{"iteration":20}'));
      expect(await store.get('run1/distill/0/checkpoint/latest.json')).toEqual(text('{"iteration":20}'));
      await store.put('run1/distill/0/checkpoint/latest.json', new Uint8Array(0));
      expect(await store.get('run1/distill/0/checkpoint/latest.json')).toEqual(new Uint8Array(0));
      expect(await store.list('')).toEqual(['run1/distill/0/checkpoint/latest.json']);
    });

    it('delete removes a key, is idempotent, and frees the key for create', async () => {
      const { store } = ctx;
      await store.create('run1/a/b.bin', bytes(1));
      await store.create('run1/a/c.bin', bytes(2));
      await store.delete('run1/a/b.bin');
      expect(await store.exists('run1/a/b.bin')).toBe(false);
      await expect(store.get('run1/a/b.bin')).rejects.toThrow(ArtifactNotFoundError);
      await store.delete('run1/a/b.bin');
      await store.delete('never/written.bin');
      await store.delete('run1/a'); // a folder, not a key: nothing to delete, and its keys stay
      expect(await store.list('')).toEqual(['run1/a/c.bin']);
      await store.create('run1/a/b.bin', bytes(3));
      expect(await store.get('run1/a/b.bin')).toEqual(bytes(3));
    });

    it('a deleted folder key can become an object key, and back', async () => {
      const { store } = ctx;
      await store.create('x/y/z.bin', bytes(1));
      await store.delete('x/y/z.bin');
      await store.create('x/y', bytes(2));
      expect(await store.list('x')).toEqual(['x/y']);
      await store.delete('x/y');
      await store.create('x/y/z.bin', bytes(3));
      expect(await store.list('')).toEqual(['x/y/z.bin']);
    });

    it('list is sorted lexicographically (by character code), whatever the write order', async () => {
      const { store } = ctx;
      const keys = ['b', 'a/z', 'a-b', 'a.b', 'a/b/c', 'A', '0', 'a=1', 'a_b', 'run10/x', 'run2/x', 'run1/x'];
      for (const key of keys) await store.create(key, bytes(0));
      const expected = [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      expect(await store.list('')).toEqual(expected);
      expect(expected.slice(0, 4)).toEqual(['0', 'A', 'a-b', 'a.b']); // '.' (0x2e) sorts before '/' (0x2f)
    });

    it('list takes a key-segment prefix: a/b matches a/b and a/b/..., never a/bc', async () => {
      const { store } = ctx;
      for (const key of ['a/b/x', 'a/b/y/z', 'a/bc/x', 'a/b.json', 'ab', 'c'])
        await store.create(key, bytes(0));
      expect(await store.list('a/b')).toEqual(['a/b/x', 'a/b/y/z']);
      expect(await store.list('a')).toEqual(['a/b.json', 'a/b/x', 'a/b/y/z', 'a/bc/x']);
      expect(await store.list('a/b/x')).toEqual(['a/b/x']);
      expect(await store.list('a/b/y')).toEqual(['a/b/y/z']);
      expect(await store.list('a/c')).toEqual([]);
      expect(await store.list('nothing')).toEqual([]);
    });

    it('list refuses a prefix with a trailing slash (or any invalid key), quoting it', async () => {
      const { store } = ctx;
      await expect(store.list('a/b/')).rejects.toThrow(InvalidKeyError);
      await expect(store.list('a/b/')).rejects.toThrow(
        `Invalid artifact key "a/b/": a key must not end with '/'`,
      );
      await expect(store.list('../x')).rejects.toThrow(`"../x"`);
    });

    describe('key validation: every operation refuses a bad key with an error quoting it', () => {
      it.each(INVALID_KEYS)('%j (%s)', async (key, rule) => {
        const { store } = ctx;
        const quoted = JSON.stringify(key);
        const operations: [string, () => Promise<unknown>][] = [
          ['create', () => store.create(key, bytes(1))],
          ['put', () => store.put(key, bytes(1))],
          ['get', () => store.get(key)],
          ['exists', () => store.exists(key)],
          ['delete', () => store.delete(key)],
        ];
        if (key !== '') operations.push(['list', () => store.list(key)]);
        for (const [operation, call] of operations) {
          const err = await call().then(
            () => new Error(`${operation} accepted ${quoted}`),
            (e: unknown) => e,
          );
          expect(err, operation).toBeInstanceOf(InvalidKeyError);
          expect((err as Error).message, operation).toContain(`Invalid artifact key ${quoted}`);
          expect((err as Error).message, operation).toContain(rule);
        }
        expect(await store.list('')).toEqual([]);
      });

      it('accepts every allowed character, segment and length limit', async () => {
        const { store } = ctx;
        const keys = [
          'ABCXYZ/abcxyz/0189/._=-/file.name_v=2.safetensors',
          '...a/-/_/=',
          `${'s'.repeat(200)}/x`,
          `y/${'t'.repeat(200)}`,
          `tmp-not-reserved/.tmp/.tmpx`,
        ];
        for (const key of keys) await store.create(key, bytes(7));
        expect(await store.list('')).toEqual([...keys].sort());
      });
    });

    it('a key cannot also be a folder of other keys (KeyConflictError naming both)', async () => {
      const { store } = ctx;
      await store.create('run1/model', bytes(1));
      const under = await store.create('run1/model/epoch/0.bin', bytes(2)).catch((e: unknown) => e);
      expect(under).toBeInstanceOf(KeyConflictError);
      expect((under as Error).message).toContain('"run1/model/epoch/0.bin"');
      expect((under as Error).message).toContain('would nest under the existing key "run1/model"');
      await expect(store.put('run1/model/x', bytes(2))).rejects.toThrow(KeyConflictError);

      await store.create('run2/a/b/c.bin', bytes(3));
      const over = await store.create('run2/a', bytes(4)).catch((e: unknown) => e);
      expect(over).toBeInstanceOf(KeyConflictError);
      expect((over as Error).message).toContain('the existing key "run2/a/b/c.bin" lies under it');
      await expect(store.put('run2/a/b', bytes(4))).rejects.toThrow(KeyConflictError);
      expect(await store.list('')).toEqual(['run1/model', 'run2/a/b/c.bin']);
    });

    it('two concurrent creates of one key: exactly one succeeds, and its bytes are stored', async () => {
      const { store } = ctx;
      for (let round = 0; round < 5; round++) {
        const key = `race/${round}.bin`;
        const payloads = [new Uint8Array(64 * 1024).fill(1), new Uint8Array(64 * 1024).fill(2)];
        const results = await Promise.allSettled(payloads.map((p) => store.create(key, p)));
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        const loser = results.find((r) => r.status === 'rejected');
        expect(loser?.status === 'rejected' && loser.reason).toBeInstanceOf(ArtifactExistsError);
        expectSameBytes(await store.get(key), payloads[winners[0]!]!);
      }
    });

    it('many concurrent creates of one key: exactly one succeeds', async () => {
      const { store } = ctx;
      const results = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => store.create('race/many.bin', bytes(i))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results)
        if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ArtifactExistsError);
      expect(await store.list('')).toEqual(['race/many.bin']);
    });

    it('concurrent puts leave one complete value', async () => {
      const { store } = ctx;
      const payloads = Array.from({ length: 8 }, (_, i) => new Uint8Array(256 * 1024).fill(i + 1));
      await Promise.all(payloads.map((p) => store.put('latest.bin', p)));
      const stored = await store.get('latest.bin');
      expect(payloads.some((p) => p.length === stored.length && p.every((v, i) => v === stored[i]))).toBe(
        true,
      );
      expect(await store.list('')).toEqual(['latest.bin']);
    });

    it('list during writes never shows a temp file or a partial object', async () => {
      const { store } = ctx;
      const big = new Uint8Array(8 * 1024 * 1024).fill(5);
      const writes = Promise.all([store.create('w/a.bin', big), store.put('w/b.bin', big)]);
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        for (const key of await store.list('')) seen.add(key);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await writes;
      for (const key of await store.list('')) seen.add(key);
      expect([...seen].sort()).toEqual(['w/a.bin', 'w/b.bin']);
      for (const key of seen) expect((await store.get(key)).length).toBe(big.length);
    });

    it('round-trips all 256 byte values and an empty object', async () => {
      const { store } = ctx;
      const all = Uint8Array.from({ length: 512 }, (_, i) => (i * 167) % 256);
      await store.create('bin/all.bin', all);
      await store.create('bin/empty.bin', new Uint8Array(0));
      const got = await store.get('bin/all.bin');
      expectSameBytes(got, all);
      expect(new Set(got).size).toBe(256);
      expect(await store.get('bin/empty.bin')).toEqual(new Uint8Array(0));
      expect(await store.exists('bin/empty.bin')).toBe(true);
      expect(await store.list('bin')).toEqual(['bin/all.bin', 'bin/empty.bin']);
    });

    it('round-trips a view into a larger buffer (byteOffset respected) and a multi-megabyte object', async () => {
      const { store } = ctx;
      const backing = Uint8Array.from({ length: 100 }, (_, i) => i);
      await store.create('view.bin', backing.subarray(10, 20));
      expect(await store.get('view.bin')).toEqual(Uint8Array.from({ length: 10 }, (_, i) => i + 10));
      const large = Uint8Array.from({ length: 5 * 1024 * 1024 + 3 }, (_, i) => (i * 31 + (i >> 11)) & 0xff);
      await store.create('large.bin', large);
      expectSameBytes(await store.get('large.bin'), large);
    });

    additionalTests?.(ctx);
  });
}
