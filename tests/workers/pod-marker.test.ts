import { createServer, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podMarker } from '../../workers/pod-marker.ts';

// The Kubernetes API server is a unit boundary here: a local HTTP server records the patches.
const patches: { url: string; method: string; auth: string; type: string; body: unknown }[] = [];
const server = createServer((req: IncomingMessage, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    patches.push({
      url: req.url!,
      method: req.method!,
      auth: req.headers.authorization!,
      type: req.headers['content-type']!,
      body: JSON.parse(body),
    });
    res.writeHead(200).end('{}');
  });
});
let apiServer = '';
beforeAll(async () => {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address() as { port: number };
  apiServer = `http://127.0.0.1:${addr.port}`;
});
afterAll(() => server.close());

const marks = () =>
  patches.map(
    (p) => (p.body as { metadata: { labels: Record<string, string> } }).metadata.labels['hoptm.dev/busy'],
  );

describe('podMarker', () => {
  it('marks the pod busy on the first running activity and idle after the last, with the deletion cost', async () => {
    patches.length = 0;
    const logs: string[] = [];
    const marker = podMarker({
      podName: 'gpu-0',
      namespace: 'hoptm',
      label: 'hoptm.dev/busy',
      apiServer,
      token: 't0k',
      log: (m) => logs.push(m),
    });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = marker.wrap(async (x: number) => {
      await gate;
      return x * 2;
    });
    const a = slow(1);
    const b = slow(2);
    release();
    expect(await Promise.all([a, b])).toEqual([2, 4]);
    await marker.settled();
    expect(marks()).toEqual(['true', 'false']);
    expect(patches[0]).toMatchObject({
      url: '/api/v1/namespaces/hoptm/pods/gpu-0',
      method: 'PATCH',
      auth: 'Bearer t0k',
      type: 'application/merge-patch+json',
      body: { metadata: { annotations: { 'controller.kubernetes.io/pod-deletion-cost': '1000' } } },
    });
    expect(patches[1]!.body).toMatchObject({
      metadata: { annotations: { 'controller.kubernetes.io/pod-deletion-cost': '0' } },
    });
    expect(logs).toEqual([]);
  });

  it('sets the pod idle even when the activity fails, and logs an unreachable API server without failing', async () => {
    patches.length = 0;
    const marker = podMarker({
      podName: 'p',
      namespace: 'n',
      label: 'hoptm.dev/busy',
      apiServer,
      token: 't',
      log: () => undefined,
    });
    await expect(marker.wrap(async () => Promise.reject(new Error('boom')))()).rejects.toThrow('boom');
    await marker.settled();
    expect(marks()).toEqual(['true', 'false']);
    const logs: string[] = [];
    const offline = podMarker({
      podName: 'p',
      namespace: 'n',
      label: 'l',
      apiServer: 'http://127.0.0.1:1',
      token: 't',
      log: (m) => logs.push(m),
    });
    expect(await offline.wrap(async () => 7)()).toBe(7);
    await offline.settled();
    expect(logs.length).toBe(2);
    expect(logs[0]).toMatch(/pod marker: .*ECONNREFUSED/);
  });
});
