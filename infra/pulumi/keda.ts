// KEDA from its Helm chart, on the CPU pool (the GPU taint keeps it off GPU nodes). It installs the
// ScaledObject and TriggerAuthentication CRDs the GPU worker's scaler needs.
import * as k8s from '@pulumi/kubernetes';
import type { InfraConfig } from './config';

export const KEDA_NAMESPACE = 'keda';

export function installKeda(config: InfraConfig, provider: k8s.Provider) {
  return new k8s.helm.v3.Release(
    'keda',
    {
      name: 'keda',
      chart: 'keda',
      version: config.kedaChartVersion,
      repositoryOpts: { repo: 'https://kedacore.github.io/charts' },
      namespace: KEDA_NAMESPACE,
      createNamespace: true,
      atomic: true,
      timeout: 600,
      values: {
        resources: {
          operator: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
          metricServer: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        },
      },
    },
    { provider },
  );
}
