// How the workers and the KEDA scaler reach Temporal: a self-hosted address in plaintext, Temporal Cloud (or a
// self-hosted server) with an API key, or mTLS with a client certificate. Credentials come from Pulumi secrets
// into one Kubernetes Secret; the workers get them as an environment variable (API key) or as files mounted
// read-only (certificate and key), and KEDA's TriggerAuthentication reads the same Secret.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config';

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;

export const TLS_MOUNT_PATH = '/etc/temporal/tls';

export interface TemporalConnection {
  env: EnvVar[];
  volumes: Volume[];
  volumeMounts: VolumeMount[];
  /** Trigger metadata for KEDA's temporal scaler (endpoint, namespace, TLS server name). */
  scalerMetadata: Record<string, string>;
  /** Where the scaler's credentials are: parameter name -> key in the Secret. */
  scalerAuth?: { secretName: pulumi.Output<string>; parameters: Record<string, string> };
}

export function createTemporalConnection(
  config: InfraConfig,
  namespace: pulumi.Input<string>,
  provider: k8s.Provider,
): TemporalConnection {
  const t = config.temporal;
  const env: EnvVar[] = [
    { name: 'TEMPORAL_ADDRESS', value: t.address },
    { name: 'TEMPORAL_NAMESPACE', value: t.namespace },
  ];
  const scalerMetadata: Record<string, string> = { endpoint: t.address, namespace: t.namespace };
  if (t.tlsServerName) {
    env.push({ name: 'TEMPORAL_TLS_SERVER_NAME', value: t.tlsServerName });
    scalerMetadata.tlsServerName = t.tlsServerName;
  }
  if (t.auth === 'none') return { env, volumes: [], volumeMounts: [], scalerMetadata };

  const s = config.temporalSecrets;
  const stringData: Record<string, pulumi.Input<string>> = t.auth === 'apiKey'
    ? { 'api-key': s.apiKey as pulumi.Output<string> }
    : {
        'tls.crt': s.tlsCert as pulumi.Output<string>,
        'tls.key': s.tlsKey as pulumi.Output<string>,
        ...(s.tlsCa ? { 'ca.crt': s.tlsCa } : {}),
      };
  const secret = new k8s.core.v1.Secret(
    `${config.name}-temporal`,
    {
      metadata: { name: `${config.name}-temporal`, namespace },
      type: 'Opaque',
      immutable: false,
      stringData,
    },
    { provider },
  );
  const secretName = secret.metadata.name;
  env.push({ name: 'TEMPORAL_TLS', value: 'true' });

  if (t.auth === 'apiKey') {
    env.push({ name: 'TEMPORAL_API_KEY', valueFrom: { secretKeyRef: { name: secretName, key: 'api-key' } } });
    return {
      env,
      volumes: [],
      volumeMounts: [],
      scalerMetadata,
      scalerAuth: { secretName, parameters: { apiKey: 'api-key' } },
    };
  }

  const cert = `${TLS_MOUNT_PATH}/tls.crt`;
  const key = `${TLS_MOUNT_PATH}/tls.key`;
  // Both spellings: TEMPORAL_TLS_CERT/KEY (this project's) and the Temporal SDKs' environment configuration.
  env.push(
    { name: 'TEMPORAL_TLS_CERT', value: cert },
    { name: 'TEMPORAL_TLS_KEY', value: key },
    { name: 'TEMPORAL_TLS_CLIENT_CERT_PATH', value: cert },
    { name: 'TEMPORAL_TLS_CLIENT_KEY_PATH', value: key },
  );
  const parameters: Record<string, string> = { cert: 'tls.crt', key: 'tls.key' };
  if (s.tlsCa) {
    env.push({ name: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', value: `${TLS_MOUNT_PATH}/ca.crt` });
    parameters.ca = 'ca.crt';
  }
  return {
    env,
    volumes: [{ name: 'temporal-tls', secret: { secretName, defaultMode: 0o440 } }],
    volumeMounts: [{ name: 'temporal-tls', mountPath: TLS_MOUNT_PATH, readOnly: true }],
    scalerMetadata,
    scalerAuth: { secretName, parameters },
  };
}
