import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ArtifactExistsError,
  ArtifactFormatError,
  ArtifactNotFoundError,
} from '../../shared/storage/errors.ts';
import { createJson, getJson, putJson } from '../../shared/storage/json.ts';
import { createMemoryStore } from '../../shared/storage/memory.ts';

const latestSchema = z
  .strictObject({ iteration: z.number().int().nonnegative(), key: z.string() })
  .meta({ title: 'latest checkpoint pointer' });

describe('JSON helpers', () => {
  it('putJson overwrites, getJson validates and returns the parsed value', async () => {
    const store = createMemoryStore();
    await putJson(store, 'run1/distill/0/checkpoint/latest.json', { iteration: 10, key: 'a' });
    await putJson(store, 'run1/distill/0/checkpoint/latest.json', { iteration: 20, key: 'b' });
    expect(await getJson(store, 'run1/distill/0/checkpoint/latest.json', latestSchema)).toEqual({
      iteration: 20,
      key: 'b',
    });
    const text = new TextDecoder().decode(await store.get('run1/distill/0/checkpoint/latest.json'));
    expect(text).toBe('{\n  "iteration": 20,\n  "key": "b"\n}\n');
  });

  it('createJson is create-only', async () => {
    const store = createMemoryStore();
    await createJson(store, 'run1/results/summary.json', { accuracy: 0.5 });
    await expect(createJson(store, 'run1/results/summary.json', { accuracy: 0.6 })).rejects.toThrow(
      ArtifactExistsError,
    );
  });

  it('getJson of a missing key throws ArtifactNotFoundError', async () => {
    await expect(getJson(createMemoryStore(), 'run1/none.json', latestSchema)).rejects.toThrow(
      ArtifactNotFoundError,
    );
  });

  it('a schema mismatch names the key, the schema title and the prettified issues', async () => {
    const store = createMemoryStore();
    await putJson(store, 'run1/latest.json', { iteration: -1, extra: true });
    const err = await getJson(store, 'run1/latest.json', latestSchema).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactFormatError);
    expect((err as Error).message).toMatchInlineSnapshot(`
      "Artifact "run1/latest.json" in memory://: expected JSON matching latest checkpoint pointer, found JSON with these problems:
      ✖ Unrecognized key: "extra"
      ✖ Too small: expected number to be >=0
        → at iteration
      ✖ Invalid input: expected string, received undefined
        → at key"
    `);
  });

  it('a schema without a title is called "the schema"', async () => {
    const store = createMemoryStore();
    await putJson(store, 'n.json', 'text');
    await expect(getJson(store, 'n.json', z.number())).rejects.toThrow(
      'Artifact "n.json" in memory://: expected JSON matching the schema, found JSON with these problems:',
    );
  });

  it('invalid JSON and invalid UTF-8 name the key', async () => {
    const store = createMemoryStore();
    await store.put('bad.json', new TextEncoder().encode('{"iteration": 1,'));
    await expect(getJson(store, 'bad.json', latestSchema)).rejects.toThrow(
      /^Artifact "bad.json" in memory:\/\/: expected JSON matching latest checkpoint pointer, found invalid JSON \(/,
    );
    await store.put('bin.json', Uint8Array.of(0xff, 0xfe));
    await expect(getJson(store, 'bin.json', latestSchema)).rejects.toThrow(
      'Artifact "bin.json" in memory://: expected JSON matching latest checkpoint pointer, found 2 bytes that are not valid UTF-8',
    );
  });

  it('putJson refuses values that JSON would silently change, naming the key', async () => {
    const store = createMemoryStore();
    await expect(putJson(store, 'm.json', { loss: NaN })).rejects.toThrow(
      'Cannot write "m.json" as JSON: NaN at property "loss" is not a JSON number',
    );
    await expect(putJson(store, 'm.json', Infinity)).rejects.toThrow(
      'Infinity as the value is not a JSON number',
    );
    await expect(putJson(store, 'm.json', undefined)).rejects.toThrow(
      'the value (undefined) has no JSON form',
    );
    await expect(putJson(store, 'm.json', { n: 1n })).rejects.toThrow(
      /^Cannot write "m.json" as JSON: .*BigInt/,
    );
    expect(await store.exists('m.json')).toBe(false);
  });
});
