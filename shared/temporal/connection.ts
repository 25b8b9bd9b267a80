/**
 * Connecting to Temporal from the parsed environment: plaintext, API key, or mTLS (docs/deploy.md 8). The
 * same options serve the client (`Connection`) and the workers (`NativeConnection`).
 */
import { readFileSync } from 'node:fs';
import type { WorkerEnv } from '../config/worker-env.ts';

export interface ConnectionSettings {
  address: string;
  namespace: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

type TemporalEnv = Pick<
  WorkerEnv,
  | 'TEMPORAL_NAMESPACE'
  | 'TEMPORAL_API_KEY'
  | 'TEMPORAL_TLS'
  | 'TEMPORAL_TLS_CERT'
  | 'TEMPORAL_TLS_KEY'
  | 'TEMPORAL_TLS_CLIENT_CERT_PATH'
  | 'TEMPORAL_TLS_CLIENT_KEY_PATH'
  | 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'
  | 'TEMPORAL_TLS_SERVER_NAME'
>;

const readFile = (what: string, path: string): Buffer => {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
};

export function connectionSettings(address: string, env: TemporalEnv): ConnectionSettings {
  const cert = env.TEMPORAL_TLS_CERT ?? env.TEMPORAL_TLS_CLIENT_CERT_PATH;
  const key = env.TEMPORAL_TLS_KEY ?? env.TEMPORAL_TLS_CLIENT_KEY_PATH;
  const tlsOn = env.TEMPORAL_TLS === true || cert !== undefined || env.TEMPORAL_API_KEY !== undefined;
  return {
    address,
    namespace: env.TEMPORAL_NAMESPACE,
    ...(env.TEMPORAL_API_KEY ? { apiKey: env.TEMPORAL_API_KEY } : {}),
    ...(tlsOn
      ? {
          tls: {
            ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
            ...(env.TEMPORAL_TLS_SERVER_CA_CERT_PATH
              ? { serverRootCACertificate: readFile('CA certificate', env.TEMPORAL_TLS_SERVER_CA_CERT_PATH) }
              : {}),
            ...(cert && key
              ? {
                  clientCertPair: {
                    crt: readFile('client certificate', cert),
                    key: readFile('client key', key),
                  },
                }
              : {}),
          },
        }
      : {}),
  };
}
