/**
 * The GCS adapter against a real GCS-compatible server (fake-gcs-server, started by tests/setup/servers.ts): the
 * shared contract suite on a fresh bucket per test (and again under a prefix of a shared bucket), then the checks
 * only GCS has: where the bytes live, multipart vs resumable uploads with their preconditions and declared hashes,
 * interrupted uploads, precondition conflicts, corrupt and torn reads, a missing bucket, denied permission and an
 * unavailable service.
 *
 * Two small HTTP servers on 127.0.0.1 stand at the client's network boundary where fake-gcs-server cannot show a
 * behaviour: a forwarding proxy that records requests, or cuts or alters one exchange on its way (a broken
 * connection, a torn download, a competing writer arriving between the adapter's check and its upload), and a
 * server that answers every request like GCS does when the identity lacks permission (403) or the service is down
 * (503), since fake-gcs-server has no authentication. Everything else is fake-gcs-server's own behaviour.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  ArtifactCorruptError,
  ArtifactExistsError,
  ArtifactNotFoundError,
  StoreConfigError,
  StoreNotFoundError,
  StorePermissionError,
  StoreUnavailableError,
  isRetryableStoreError,
  openStore,
} from '../../shared/storage/index.ts';
import { createGcsStore, parseGcsUrl, type GcsStoreOptions } from '../../shared/storage/gcs.ts';
import { freePort, stopProcess, toolPath, waitForPort } from '../../shared/temporal/dev-server.ts';
import { expectSameBytes, testStore } from '../storage/contract.ts';

const endpoint = inject('gcsEndpoint');
let buckets = 0;

/** Creates a bucket through the JSON API, as an operator would; returns its name. */
async function createBucket(base = endpoint): Promise<string> {
  const name = `hoptm-test-${process.pid}-${buckets++}`;
  const res = await fetch(`${base}/storage/v1/b?project=test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return name;
}

/** The raw bytes of an object, read past the adapter. */
async function readObject(bucket: string, name: string, base = endpoint): Promise<Uint8Array> {
  const res = await fetch(`${base}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}?alt=media`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

/** Writes an object past the adapter (a competing writer, or another tool). */
async function writeObject(bucket: string, name: string, data: Uint8Array, base = endpoint): Promise<void> {
  const res = await fetch(
    `${base}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${encodeURIComponent(name)}`,
    { method: 'POST', body: new Uint8Array(data) },
  );
  expect(res.status, await res.clone().text()).toBe(200);
}

const fill = (length: number, seed: number): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (i * 31 + seed + (i >> 9)) & 0xff);

// ---- small HTTP servers at the client's boundary ----

interface Exchange {
  method: string;
  url: string;
  body: Buffer;
}

interface ProxyBehaviour {
  /**
   * Called with each request, its body read in full. Return 'forward' to pass it on, 'cut' to drop the connection
   * without an answer, or a function to alter the answer (status, headers, body) before it goes back.
   */
  intercept?: (exchange: Exchange, index: number) => Promise<ProxyVerdict> | ProxyVerdict;
}
type ProxyVerdict =
  'forward' | 'cut' | ((answer: { status: number; body: Buffer }) => { status: number; body: Buffer });

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((ok) => s.close(ok))));
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  server.on('connection', (socket) => server.once('close', () => socket.destroy()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** A forwarding proxy to `target` that records every exchange and lets a test cut or alter one. */
async function startProxy(behaviour: ProxyBehaviour = {}, target = endpoint) {
  const exchanges: Exchange[] = [];
  const url = await listen((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const exchange = { method: req.method!, url: req.url!, body };
      const index = exchanges.push(exchange) - 1;
      const verdict = (await behaviour.intercept?.(exchange, index)) ?? 'forward';
      if (verdict === 'cut') {
        req.socket.destroy();
        return;
      }
      const targetUrl = new URL(req.url!, target);
      const headers = { ...req.headers, host: targetUrl.host };
      const upstream = request(targetUrl, { method: req.method, headers }, (answer) => {
        void readBody(answer).then((answerBody) => {
          let out = { status: answer.statusCode!, body: answerBody };
          if (typeof verdict === 'function') out = verdict(out);
          // Rewrite the fake server's own address (resumable session URLs) to the proxy's.
          const outHeaders = { ...answer.headers };
          for (const name of ['location', 'x-goog-upload-url'] as const) {
            const value = outHeaders[name];
            if (typeof value === 'string') outHeaders[name] = value.replace(target, url);
          }
          delete outHeaders['transfer-encoding'];
          outHeaders['content-length'] = String(out.body.length);
          res.writeHead(out.status, outHeaders);
          res.end(out.body);
        });
      });
      upstream.on('error', () => req.socket.destroy());
      upstream.end(body);
    })();
  });
  return { url, exchanges };
}

/** A server answering every request with `status` and GCS's JSON error body. */
async function startAnswering(status: number, message: string): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const url = await listen((req, res) => {
    void readBody(req).then(() => {
      requests.push(`${req.method} ${req.url}`);
      const error = { code: status, message, errors: [{ message, domain: 'global', reason: 'forbidden' }] };
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify({ error }));
    });
  });
  return { url, requests };
}

const NO_RETRIES: GcsStoreOptions['retry'] = { maxRetries: 0 };

// ---- the contract ----

testStore(
  'gcs',
  async () => openStore(`gs://${await createBucket()}`, { gcsEndpoint: endpoint }),
  (ctx) => {
    describe('gcs only', () => {
      it('keeps the bytes in the object named by the key, with the location gs://bucket', async () => {
        const { store } = ctx;
        const bucket = parseGcsUrl(store.location).bucket;
        expect(store.location).toBe(`gs://${bucket}`);
        const data = fill(3000, 1);
        await store.create('run1/expert/3/epoch/0007.safetensors', data);
        expectSameBytes(await readObject(bucket, 'run1/expert/3/epoch/0007.safetensors'), data);
      });

      it('lists only valid keys: objects written by other tools (a console folder, odd names) are skipped', async () => {
        const { store } = ctx;
        const bucket = parseGcsUrl(store.location).bucket;
        await store.create('a/kept.bin', Uint8Array.of(1));
        await writeObject(bucket, 'a/folder/', new Uint8Array(0));
        await writeObject(bucket, 'a/notes~', Uint8Array.of(2));
        await writeObject(bucket, 'has space.txt', Uint8Array.of(3));
        expect(await store.list('')).toEqual(['a/kept.bin']);
        expect(await store.list('a')).toEqual(['a/kept.bin']);
      });
    });
  },
);

describe('gcs store under a prefix of a shared bucket', () => {
  let shared: string;
  let count = 0;
  beforeAll(async () => {
    shared = await createBucket();
    await writeObject(shared, 'outside/other.bin', Uint8Array.of(9)); // not under any test's prefix
    await writeObject(shared, 'runs', Uint8Array.of(9)); // a sibling object named like the prefix's first segment
  });

  testStore(
    'gcs',
    async () => openStore(`gs://${shared}/runs/t${count++}/`, { gcsEndpoint: endpoint }),
    (ctx) => {
      it('stores key k as the object <prefix>/k, and its location drops the trailing slash', async () => {
        const { store } = ctx;
        const prefix = parseGcsUrl(store.location).prefix;
        expect(store.location).toBe(`gs://${shared}/${prefix}`);
        await store.put('x/y.json', Uint8Array.of(1, 2));
        expectSameBytes(await readObject(shared, `${prefix}/x/y.json`), Uint8Array.of(1, 2));
      });
    },
  );
});

// ---- uploads ----

describe('gcs uploads', () => {
  it('small objects: one multipart request with ifGenerationMatch=0 and declared CRC32C and MD5', async () => {
    const bucket = await createBucket();
    const proxy = await startProxy();
    const store = createGcsStore({ bucket, endpoint: proxy.url });
    await store.create('small.bin', fill(1000, 2));
    const uploads = proxy.exchanges.filter((e) => e.url.startsWith('/upload/'));
    expect(uploads).toHaveLength(1);
    const query = new URL(uploads[0]!.url, proxy.url).searchParams;
    expect(query.get('uploadType')).toBe('multipart');
    expect(query.get('ifGenerationMatch')).toBe('0');
    const body = uploads[0]!.body.toString('latin1');
    const declared = JSON.parse(/\{"[^\r\n]*\}/.exec(body)![0]) as Record<string, string>;
    const stored = (await (await fetch(`${endpoint}/storage/v1/b/${bucket}/o/small.bin`)).json()) as Record<
      string,
      string
    >;
    expect([declared.crc32c, declared.md5Hash]).toEqual([stored.crc32c, stored.md5Hash]);

    // put: the same upload without the precondition
    proxy.exchanges.length = 0;
    await store.put('small.bin', fill(10, 3));
    const put = new URL(proxy.exchanges.find((e) => e.url.startsWith('/upload/'))!.url, proxy.url);
    expect(put.searchParams.get('uploadType')).toBe('multipart');
    expect(put.searchParams.has('ifGenerationMatch')).toBe(false);
  });

  it('large objects: a resumable upload in chunks, the session opened with ifGenerationMatch=0', async () => {
    const bucket = await createBucket();
    const proxy = await startProxy();
    const store = createGcsStore({
      bucket,
      endpoint: proxy.url,
      resumableThreshold: 256 * 1024,
      chunkSize: 256 * 1024,
    });
    const data = fill(3 * 256 * 1024 + 5, 4);
    await store.create('ckpt/000010.safetensors', data);
    const uploads = proxy.exchanges.filter((e) => e.url.startsWith('/upload/'));
    const start = new URL(uploads[0]!.url, proxy.url).searchParams;
    expect(start.get('uploadType')).toBe('resumable');
    expect(start.get('ifGenerationMatch')).toBe('0');
    const session = JSON.parse(uploads[0]!.body.toString()) as Record<string, string>;
    expect(session).toMatchObject({ crc32c: expect.any(String), md5Hash: expect.any(String) });
    expect(uploads.slice(1).map((e) => e.body.length)).toEqual([262144, 262144, 262144, 5]);
    expectSameBytes(await store.get('ckpt/000010.safetensors'), data);
    expectSameBytes(await readObject(bucket, 'ckpt/000010.safetensors'), data);
    await expect(store.create('ckpt/000010.safetensors', data)).rejects.toThrow(ArtifactExistsError);
  });

  it('a resumable upload cut mid-way leaves no object; the error is retryable and the key stays free', async () => {
    const bucket = await createBucket();
    const chunk = 256 * 1024;
    // The session opens and the first chunk arrives; then the connection breaks on the second chunk.
    let chunks = 0;
    const cutter = await startProxy({
      intercept: (e) => (e.url.includes('upload_id') && ++chunks >= 2 ? 'cut' : 'forward'),
    });
    const store = createGcsStore({
      bucket,
      endpoint: cutter.url,
      resumableThreshold: chunk,
      chunkSize: chunk,
      retry: NO_RETRIES,
    });
    const err = await store.create('run/ckpt.bin', fill(4 * chunk, 5)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(isRetryableStoreError(err)).toBe(true);
    expect((err as Error).message).toContain(`Cannot create "run/ckpt.bin" in gs://${bucket} now`);
    expect(chunks).toBeGreaterThanOrEqual(2); // one chunk had been stored in the session before the cut

    const direct = createGcsStore({ bucket, endpoint });
    expect(await direct.exists('run/ckpt.bin')).toBe(false);
    expect(await direct.list('')).toEqual([]);
    await expect(direct.get('run/ckpt.bin')).rejects.toThrow(ArtifactNotFoundError);
    const data = fill(4 * chunk, 6);
    await direct.create('run/ckpt.bin', data);
    expectSameBytes(await direct.get('run/ckpt.bin'), data);
  });

  it('a multipart upload cut before the answer leaves no object and is retryable', async () => {
    const bucket = await createBucket();
    const proxy = await startProxy({ intercept: (e) => (e.url.startsWith('/upload/') ? 'cut' : 'forward') });
    const store = createGcsStore({ bucket, endpoint: proxy.url, retry: NO_RETRIES });
    const err = await store.put('latest.json', fill(100, 1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).retryable).toBe(true);
    expect(await createGcsStore({ bucket, endpoint }).list('')).toEqual([]);
  });

  it('a competing writer between the check and the upload: GCS answers 412, create throws ArtifactExistsError', async () => {
    const bucket = await createBucket();
    const theirs = fill(50, 7);
    const proxy = await startProxy({
      intercept: async (e): Promise<ProxyVerdict> => {
        // the other writer's object lands just before ours reaches the server
        if (e.url.startsWith('/upload/')) await writeObject(bucket, 'run/result.json', theirs);
        return 'forward';
      },
    });
    const store = createGcsStore({ bucket, endpoint: proxy.url });
    const err = await store.create('run/result.json', fill(60, 8)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactExistsError);
    expect((err as ArtifactExistsError).retryable).toBe(false);
    expect((err as Error).message).toContain(`"run/result.json" already exists in gs://${bucket}`);
    expectSameBytes(await readObject(bucket, 'run/result.json'), theirs);
  });
});

// ---- reads ----

describe('gcs reads verify size and checksums', () => {
  let fsServer: ChildProcess;
  let fsEndpoint: string;
  let fsRoot: string;
  beforeAll(async () => {
    // A second fake-gcs-server whose objects are files on disk, so a test can damage the stored bytes themselves
    // (the server keeps the CRC32C/MD5 it computed at upload in its metadata).
    fsRoot = mkdtempSync(join(tmpdir(), 'hoptm-gcs-fs-'));
    const port = await freePort();
    fsEndpoint = `http://127.0.0.1:${port}`;
    fsServer = spawn(
      toolPath('fake-gcs-server'),
      [
        '-scheme',
        'http',
        '-host',
        '127.0.0.1',
        '-port',
        String(port),
        '-external-url',
        fsEndpoint,
        '-backend',
        'filesystem',
        '-filesystem-root',
        fsRoot,
        '-log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    await waitForPort('fake-gcs-server (filesystem)', '127.0.0.1', port, { child: fsServer });
  });
  afterAll(async () => {
    await stopProcess(fsServer);
    rmSync(fsRoot, { recursive: true, force: true });
  });

  it('a stored object truncated on the server: ArtifactCorruptError naming key, location and object, not retryable', async () => {
    const bucket = await createBucket(fsEndpoint);
    const store = createGcsStore({ bucket, prefix: 'runs', endpoint: fsEndpoint });
    const key = 'run1/distill/0/checkpoint/000020.safetensors';
    await store.create(key, fill(100_000, 9));
    truncateSync(join(fsRoot, bucket, 'runs', ...key.split('/')), 40_000);

    const err = await store.get(key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactCorruptError);
    expect(isRetryableStoreError(err)).toBe(false);
    const message = (err as Error).message;
    expect(message).toContain(`Artifact "${key}" in gs://${bucket}/runs (object "runs/${key}", generation `);
    expect(message).toMatch(
      /is corrupt: expected 40000 bytes, CRC32C \S+, MD5 \S+, found 40000 bytes, CRC32C \S+/,
    );
    expect(message).toContain('on two reads; delete it and produce it again');
    // exists and list still see it (it is there); deleting it frees the key
    expect(await store.list('run1')).toEqual([key]);
    await store.delete(key);
    await store.create(key, fill(10, 1));
    expectSameBytes(await store.get(key), fill(10, 1));
  });

  it('a download torn once on the way is read again and returned whole', async () => {
    const bucket = await createBucket();
    const data = fill(200_000, 10);
    await createGcsStore({ bucket, endpoint }).create('ckpt.bin', data);
    let downloads = 0;
    const proxy = await startProxy({
      intercept: (e) =>
        e.url.includes('alt=media') && downloads++ === 0
          ? (answer) => ({ ...answer, body: answer.body.subarray(0, 150_000) })
          : 'forward',
    });
    const store = createGcsStore({ bucket, endpoint: proxy.url });
    expectSameBytes(await store.get('ckpt.bin'), data);
    expect(downloads).toBe(2);
    // both reads asked for the generation the metadata named
    const media = proxy.exchanges.filter((e) => e.url.includes('alt=media'));
    const generations = media.map((e) => new URL(e.url, proxy.url).searchParams.get('generation'));
    expect(generations[0]).toMatch(/^\d+$/);
    expect(generations[1]).toBe(generations[0]);
  });

  it('downloads that keep coming back different: StoreUnavailableError, retryable', async () => {
    const bucket = await createBucket();
    await createGcsStore({ bucket, endpoint }).create('ckpt.bin', fill(200_000, 11));
    let downloads = 0;
    const proxy = await startProxy({
      intercept: (e) =>
        e.url.includes('alt=media')
          ? (answer) => ({ ...answer, body: answer.body.subarray(0, 100_000 + 1000 * downloads++) })
          : 'forward',
    });
    const err = await createGcsStore({ bucket, endpoint: proxy.url })
      .get('ckpt.bin')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toContain('torn reads');
    expect(isRetryableStoreError(err)).toBe(true);
  });
});

// ---- failures of the store itself ----

describe('gcs failures: each a clear error, marked retryable or not, and nothing written', () => {
  it('a missing bucket: StoreNotFoundError from every operation, not retryable', async () => {
    const store = await openStore('gs://hoptm-no-such-bucket/runs', { gcsEndpoint: endpoint });
    const operations: [string, () => Promise<unknown>][] = [
      ['create', () => store.create('a/b.bin', Uint8Array.of(1))],
      ['put', () => store.put('a/b.bin', Uint8Array.of(1))],
      ['get', () => store.get('a/b.bin')],
      ['exists', () => store.exists('a/b.bin')],
      ['list', () => store.list('a')],
      ['delete', () => store.delete('a/b.bin')],
    ];
    for (const [operation, call] of operations) {
      const err = await call().then(
        () => new Error(`${operation} succeeded`),
        (e: unknown) => e,
      );
      expect(err, operation).toBeInstanceOf(StoreNotFoundError);
      expect((err as StoreNotFoundError).retryable, operation).toBe(false);
      expect((err as Error).message, operation).toContain(
        'Store gs://hoptm-no-such-bucket/runs not found: bucket "hoptm-no-such-bucket" does not exist',
      );
    }
    const listed = await fetch(`${endpoint}/storage/v1/b/hoptm-no-such-bucket/o`);
    expect(listed.status).toBe(404); // and no operation created it
  });

  it('permission denied (HTTP 403, as GCS answers): StorePermissionError naming the operation and key, not retryable', async () => {
    // fake-gcs-server has no authentication: this server stands in for GCS refusing the identity.
    const message =
      'worker@p.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object.';
    const denied = await startAnswering(403, message);
    const store = createGcsStore({ bucket: 'hoptm-artifacts', prefix: 'runs', endpoint: denied.url });
    const calls: [string, () => Promise<unknown>][] = [
      ['create', () => store.create('run1/a.bin', Uint8Array.of(1))],
      ['put', () => store.put('run1/a.bin', fill(600_000, 1))],
      ['get', () => store.get('run1/a.bin')],
      ['exists', () => store.exists('run1/a.bin')],
      ['list', () => store.list('run1')],
      ['delete', () => store.delete('run1/a.bin')],
    ];
    for (const [operation, call] of calls) {
      const err = await call().then(
        () => new Error(`${operation} succeeded`),
        (e: unknown) => e,
      );
      expect(err, operation).toBeInstanceOf(StorePermissionError);
      expect((err as StorePermissionError).retryable, operation).toBe(false);
      expect((err as Error).message, operation).toContain(`Permission denied: cannot ${operation} "run1`);
      expect((err as Error).message, operation).toContain(`in gs://hoptm-artifacts/runs: ${message}`);
    }
    expect(denied.requests.length).toBeGreaterThanOrEqual(calls.length);
  });

  it('a service answering 503 (after the client retries) or refusing connections: StoreUnavailableError, retryable', async () => {
    const down = await startAnswering(503, 'Service Unavailable');
    const store = createGcsStore({
      bucket: 'hoptm-artifacts',
      endpoint: down.url,
      retry: { maxRetries: 1, maxRetryDelay: 0.2, retryDelayMultiplier: 1.1 },
    });
    for (const call of [
      () => store.get('a.bin'),
      () => store.create('a.bin', Uint8Array.of(1)),
      () => store.list(''),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(isRetryableStoreError(err)).toBe(true);
      expect((err as Error).message).toMatch(/in gs:\/\/hoptm-artifacts now: .*\(retryable\)$/s);
    }
    expect(
      down.requests.filter((r) => r.startsWith('GET /storage/v1/b/hoptm-artifacts/o/a.bin')).length,
    ).toBeGreaterThanOrEqual(2); // retried once

    const closed = `http://127.0.0.1:${await freePort()}`;
    const err = await createGcsStore({ bucket: 'hoptm-artifacts', endpoint: closed, retry: NO_RETRIES })
      .exists('a.bin')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).retryable).toBe(true);
  });
});

describe('gcs store configuration', () => {
  it.each([
    ['gs://', 'is not a valid bucket name'],
    ['gs://Upper/x', 'is not a valid bucket name'],
    ['gs://ab', 'is not a valid bucket name'],
    ['gs://bucket/a//b', 'empty segments'],
    ['gs://bucket/../x', "'..' segments"],
    ['gs://bucket/x?y=1', 'no query or fragment'],
  ])('openStore(%j) is a StoreConfigError (%s)', async (url, words) => {
    const err = await openStore(url, { gcsEndpoint: endpoint }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConfigError);
    expect((err as Error).message).toContain('[storage:gcs]');
    expect((err as Error).message).toContain(words);
  });

  it('createGcsStore without a bucket names the option', () => {
    expect(() => createGcsStore({} as GcsStoreOptions)).toThrow(
      "[storage:gcs] Missing required option `bucket` (for example createGcsStore({ bucket: 'hoptm-artifacts', prefix: 'runs' }))",
    );
  });
});
