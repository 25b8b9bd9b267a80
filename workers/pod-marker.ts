/**
 * The GPU worker marks its own pod busy while it runs an activity (docs/deploy.md 8): label
 * `hoptm.dev/busy=true` and `controller.kubernetes.io/pod-deletion-cost: "1000"`, back to `false`/`0` when
 * idle, so KEDA never scales below the running work and a scale-down removes idle pods first. In-cluster
 * only: it talks to the API server with the pod's service-account token.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface PodMarkerOptions {
  podName: string;
  namespace: string;
  label: string;
  /** https://host:port of the API server (http:// only for tests). */
  apiServer: string;
  token: string;
  ca?: Buffer;
  log: (msg: string) => void;
}

/** The merge patch that marks the pod busy or idle. */
export function busyPatch(label: string, busy: boolean): object {
  return {
    metadata: {
      labels: { [label]: busy ? 'true' : 'false' },
      annotations: { 'controller.kubernetes.io/pod-deletion-cost': busy ? '1000' : '0' },
    },
  };
}

/** Counts running activities and patches the pod on the 0 -> 1 and 1 -> 0 edges (failures are logged). */
export function podMarker(opts: PodMarkerOptions) {
  let running = 0;
  let chain: Promise<void> = Promise.resolve();
  const patch = (busy: boolean): void => {
    chain = chain.then(
      () =>
        new Promise<void>((done) => {
          const body = JSON.stringify(busyPatch(opts.label, busy));
          const request = opts.apiServer.startsWith('http:') ? httpRequest : httpsRequest;
          const req = request(
            `${opts.apiServer}/api/v1/namespaces/${opts.namespace}/pods/${opts.podName}`,
            {
              method: 'PATCH',
              headers: {
                authorization: `Bearer ${opts.token}`,
                'content-type': 'application/merge-patch+json',
                'content-length': Buffer.byteLength(body),
              },
              ...(opts.ca ? { ca: opts.ca } : {}),
            },
            (res) => {
              res.resume();
              if (res.statusCode !== 200)
                opts.log(`pod marker: PATCH ${busy ? 'busy' : 'idle'} answered ${res.statusCode}`);
              done();
            },
          );
          req.on('error', (err) => {
            opts.log(`pod marker: ${err.message}`);
            done();
          });
          req.end(body);
        }),
    );
  };
  return {
    /** Wraps an activity so that the pod is busy while it runs. */
    wrap<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
      return async (...args: A) => {
        if (running++ === 0) patch(true);
        try {
          return await fn(...args);
        } finally {
          if (--running === 0) patch(false);
        }
      };
    },
    /** Resolves once every patch sent so far has been answered. */
    settled: () => chain,
  };
}

export type PodMarker = ReturnType<typeof podMarker>;

/** The in-cluster marker when the pod's identity and the API server are known, else null (local runs). */
export function inClusterMarker(
  env: {
    POD_NAME?: string;
    POD_NAMESPACE?: string;
    HOPTM_BUSY_LABEL: string;
    KUBERNETES_SERVICE_HOST?: string;
    KUBERNETES_SERVICE_PORT?: string;
  },
  log: (msg: string) => void,
): PodMarker | null {
  if (!env.POD_NAME || !env.POD_NAMESPACE || !env.KUBERNETES_SERVICE_HOST) return null;
  return podMarker({
    podName: env.POD_NAME,
    namespace: env.POD_NAMESPACE,
    label: env.HOPTM_BUSY_LABEL,
    apiServer: `https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`,
    token: readFileSync(`${SA}/token`, 'utf8').trim(),
    ca: readFileSync(`${SA}/ca.crt`),
    log,
  });
}
