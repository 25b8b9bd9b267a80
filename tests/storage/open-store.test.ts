import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StoreConfigError, openStore } from '../../shared/storage/index.ts';

const ACCEPTED =
  'accepted forms: a local path (/data/artifacts or ./artifacts), file:///data/artifacts, memory://, gs://bucket/prefix';

describe('openStore', () => {
  it('opens a local store from an absolute path, a relative path or a file:// URL', async () => {
    const a = await openStore('/data/artifacts');
    expect([a.name, a.location]).toEqual(['local', 'file:///data/artifacts']);
    const b = await openStore('runs/local');
    expect([b.name, b.location]).toEqual(['local', pathToFileURL(join(process.cwd(), 'runs/local')).href]);
    const c = await openStore('file:///data/my%20artifacts');
    expect([c.name, c.location]).toEqual(['local', 'file:///data/my%20artifacts']);
  });

  it('opens a fresh memory store for memory://', async () => {
    const a = await openStore('memory://');
    const b = await openStore('memory://');
    expect([a.name, a.location]).toEqual(['memory', 'memory://']);
    await a.put('k', Uint8Array.of(1));
    expect(await b.exists('k')).toBe(false);
  });

  it('opens gs://bucket/prefix with the GCS adapter, lazily, without touching the network', async () => {
    const a = await openStore('gs://hoptm-artifacts/runs');
    expect([a.name, a.location]).toEqual(['gcs', 'gs://hoptm-artifacts/runs']);
    const b = await openStore('gs://hoptm-artifacts/', { gcsEndpoint: 'http://127.0.0.1:1' });
    expect([b.name, b.location]).toEqual(['gcs', 'gs://hoptm-artifacts']);
    const c = await openStore('gs://hoptm-artifacts', { gcsEndpoint: '' });
    expect(c.location).toBe('gs://hoptm-artifacts');
  });

  it('refuses a gs:// URL without a valid bucket or prefix', async () => {
    const err = await openStore('gs://Bad_Bucket/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConfigError);
    expect((err as Error).message).toBe(
      `[storage:gcs] "gs://Bad_Bucket/x": "Bad_Bucket" is not a valid bucket name (3-63 characters of a-z, 0-9, '-', '_', '.', starting and ending with a letter or digit)`,
    );
    await expect(openStore('gs://bucket/a/../b')).rejects.toThrow("a key must not contain '..' segments");
  });

  it.each(['s3://bucket/x', 'https://example.com/a', 'GCS://bucket'])(
    'refuses %s, listing the accepted forms',
    async (url) => {
      await expect(openStore(url)).rejects.toThrow(
        `Unsupported store URL ${JSON.stringify(url)}; ${ACCEPTED}`,
      );
    },
  );

  it('refuses an empty URL, a memory URL with a location, and a file URL with a host', async () => {
    await expect(openStore('')).rejects.toThrow(`[storage:openStore] No store URL given; ${ACCEPTED}`);
    await expect(openStore('memory://shared')).rejects.toThrow(
      '"memory://shared": a memory store has no location, write exactly memory://',
    );
    await expect(openStore('file://server/share')).rejects.toThrow(
      'Cannot use "file://server/share" as a local root',
    );
  });
});
