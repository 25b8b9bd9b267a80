/**
 * JSON objects in an artifact store (manifests, `latest.json` pointers, results). Reads are validated with a zod
 * schema, never cast: a mismatch is an `ArtifactFormatError` naming the key and listing zod's prettified issues.
 * Writes refuse values JSON would silently change (NaN and ±Infinity become null, undefined disappears).
 */
import { z } from 'zod';
import { ArtifactFormatError } from './errors.ts';
import type { ArtifactStore } from './store.ts';

/** Overwrites `key` with `value` as pretty-printed JSON (for pointers and manifests). */
export async function putJson(store: ArtifactStore, key: string, value: unknown): Promise<void> {
  await store.put(key, encodeJson(key, value));
}

/** Writes `value` as JSON at `key`, create-only (for immutable records such as results). */
export async function createJson(store: ArtifactStore, key: string, value: unknown): Promise<void> {
  await store.create(key, encodeJson(key, value));
}

/** Reads `key` as UTF-8 JSON and validates it with `schema`; missing keys throw `ArtifactNotFoundError`. */
export async function getJson<T>(store: ArtifactStore, key: string, schema: z.ZodType<T>): Promise<T> {
  const bytes = await store.get(key);
  const what = describeSchema(schema);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new ArtifactFormatError(
      key,
      store.location,
      what,
      `${bytes.length} bytes that are not valid UTF-8`,
      { cause: err },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const found = `invalid JSON (${err instanceof Error ? err.message : String(err)})`;
    throw new ArtifactFormatError(key, store.location, what, found, { cause: err });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new ArtifactFormatError(
      key,
      store.location,
      what,
      `JSON with these problems:\n${z.prettifyError(parsed.error)}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

function describeSchema(schema: z.ZodType): string {
  const title = schema.meta()?.title;
  return typeof title === 'string' ? `JSON matching ${title}` : 'JSON matching the schema';
}

function encodeJson(key: string, value: unknown): Uint8Array {
  const refuse = (why: string, cause?: unknown): TypeError =>
    new TypeError(`Cannot write ${JSON.stringify(key)} as JSON: ${why}`, { cause });
  let refused: TypeError | undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(
      value,
      (property, v: unknown) => {
        if (typeof v === 'number' && !Number.isFinite(v)) {
          const where = property === '' ? 'as the value' : `at property ${JSON.stringify(property)}`;
          throw (refused = refuse(`${String(v)} ${where} is not a JSON number`));
        }
        return v;
      },
      2,
    );
  } catch (err) {
    throw err === refused ? err : refuse(err instanceof Error ? err.message : String(err), err);
  }
  if (text === undefined) throw refuse(`the value (${typeof value}) has no JSON form`);
  return new TextEncoder().encode(`${text}\n`);
}
