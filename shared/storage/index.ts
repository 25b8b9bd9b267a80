/**
 * The storage entry point: `openStore(url, options?)` picks the adapter from a URL, and the public API is
 * re-exported.
 *
 *   /abs/path, ./rel/path, file:///abs/path   the local adapter rooted there
 *   memory://                                 a fresh, private in-memory store
 *   gs://bucket[/prefix]                      the GCS adapter (`gcs.ts`): default credentials, or the emulator at
 *                                             `options.gcsEndpoint`
 *
 * `openStore` is async so that heavy adapters (the GCS client) can be imported lazily, at open time. Nothing here
 * reads the environment: entry points (CLI, workers) pass `{ gcsEndpoint: process.env.HOPTM_GCS_ENDPOINT }`.
 */
import { fileURLToPath } from 'node:url';
import { StoreConfigError } from './errors.ts';
import { createLocalStore } from './local.ts';
import { createMemoryStore } from './memory.ts';
import type { ArtifactStore } from './store.ts';

export type { ArtifactStore } from './store.ts';
export * from './errors.ts';
export { validateKey, validatePrefix, isValidKey, keyHasPrefix } from './keys.ts';
export { putJson, createJson, getJson } from './json.ts';
export { createLocalStore, type LocalStoreOptions } from './local.ts';
export { createMemoryStore } from './memory.ts';
export type { GcsStoreOptions } from './gcs.ts';

export interface OpenStoreOptions {
  /**
   * The API endpoint of a GCS emulator for `gs://` URLs (e.g. `http://127.0.0.1:4443`, fake-gcs-server); no
   * credentials are sent to it. Undefined or '' means real GCS with the application default credentials. Entry
   * points pass `process.env.HOPTM_GCS_ENDPOINT`.
   */
  gcsEndpoint?: string | undefined;
}

const ACCEPTED =
  'accepted forms: a local path (/data/artifacts or ./artifacts), file:///data/artifacts, memory://, gs://bucket/prefix';

/** A URL scheme of two or more letters (one letter followed by ':' would be a Windows drive). */
const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]+):/;

export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<ArtifactStore> {
  if (typeof url !== 'string' || url.trim() === '')
    throw new StoreConfigError('openStore', `No store URL given; ${ACCEPTED}`);
  const scheme = SCHEME_RE.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
      return createLocalStore({ root: url });
    case 'file': {
      let root: string;
      try {
        root = fileURLToPath(url);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new StoreConfigError(
          'openStore',
          `Cannot use ${JSON.stringify(url)} as a local root: ${why}; ${ACCEPTED}`,
          { cause: err },
        );
      }
      return createLocalStore({ root });
    }
    case 'memory':
      if (url !== 'memory://') {
        throw new StoreConfigError(
          'openStore',
          `${JSON.stringify(url)}: a memory store has no location, write exactly memory://`,
        );
      }
      return createMemoryStore();
    case 'gs': {
      const { createGcsStore, parseGcsUrl } = await import('./gcs.ts');
      const endpoint = options.gcsEndpoint;
      return createGcsStore({ ...parseGcsUrl(url), ...(endpoint ? { endpoint } : {}) });
    }
    default:
      throw new StoreConfigError('openStore', `Unsupported store URL ${JSON.stringify(url)}; ${ACCEPTED}`);
  }
}
