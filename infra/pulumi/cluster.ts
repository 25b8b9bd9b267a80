// The GKE cluster (regional control plane, private nodes, Workload Identity, shielded nodes, no default pool,
// no client certificates or basic auth), its CPU node pool, and the Kubernetes provider that talks to it.
// The GPU pools are components of their own (components/gpuNodePool.ts).
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config';
import { POD_RANGE, SERVICE_RANGE } from './network';

/** Label on every node, used by the workers' node selectors. */
export const NODE_CLASS_LABEL = 'hoptm.dev/node-class';
export const POOL_LABEL = 'hoptm.dev/pool';
export const OAUTH_SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];

/** Settings shared by every node pool: GKE metadata server (Workload Identity), shielded boot, COS. */
export function hardenedNodeConfig(nodeServiceAccount: pulumi.Input<string>) {
  return {
    imageType: 'COS_CONTAINERD',
    serviceAccount: nodeServiceAccount,
    oauthScopes: OAUTH_SCOPES,
    workloadMetadataConfig: { mode: 'GKE_METADATA' },
    shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
    metadata: { 'disable-legacy-endpoints': 'true' },
  };
}

export function createCluster(
  config: InfraConfig,
  network: gcp.compute.Network,
  subnetwork: gcp.compute.Subnetwork,
  nodeServiceAccount: pulumi.Input<string>,
) {
  const { project, region, name } = config;
  const cluster = new gcp.container.Cluster(name, {
    project,
    name,
    location: region,
    nodeLocations: config.zones,
    network: network.id,
    subnetwork: subnetwork.id,
    deletionProtection: config.deletionProtection,
    removeDefaultNodePool: true,
    initialNodeCount: 1,
    // The short-lived default pool also runs as the node account, never as the compute default account.
    nodeConfig: hardenedNodeConfig(nodeServiceAccount),
    releaseChannel: { channel: 'REGULAR' },
    workloadIdentityConfig: { workloadPool: `${project}.svc.id.goog` },
    ipAllocationPolicy: { clusterSecondaryRangeName: POD_RANGE, servicesSecondaryRangeName: SERVICE_RANGE },
    privateClusterConfig: {
      enablePrivateNodes: true,
      enablePrivateEndpoint: false,
      masterIpv4CidrBlock: config.network.masterCidr,
    },
    masterAuthorizedNetworksConfig:
      config.network.masterAuthorizedNetworks.length > 0
        ? {
            cidrBlocks: config.network.masterAuthorizedNetworks.map((n) => ({
              displayName: n.name,
              cidrBlock: n.cidr,
            })),
          }
        : undefined,
    masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
    enableShieldedNodes: true,
    enableLegacyAbac: false,
    // Removes empty GPU nodes sooner than the balanced profile does.
    clusterAutoscaling: { autoscalingProfile: 'OPTIMIZE_UTILIZATION' },
    addonsConfig: { gcePersistentDiskCsiDriverConfig: { enabled: true } },
  });

  const cpuPool = new gcp.container.NodePool(`${name}-cpu`, {
    project,
    name: 'cpu',
    cluster: cluster.name,
    location: region,
    nodeLocations: config.zones,
    initialNodeCount: config.cpuPool.minNodes,
    autoscaling: {
      totalMinNodeCount: config.cpuPool.minNodes,
      totalMaxNodeCount: config.cpuPool.maxNodes,
      locationPolicy: 'BALANCED',
    },
    management: { autoRepair: true, autoUpgrade: true },
    nodeConfig: {
      ...hardenedNodeConfig(nodeServiceAccount),
      machineType: config.cpuPool.machineType,
      diskSizeGb: config.cpuPool.diskSizeGb,
      diskType: 'pd-balanced',
      spot: config.cpuPool.spot,
      labels: { [NODE_CLASS_LABEL]: 'cpu', [POOL_LABEL]: 'cpu' },
    },
  });

  const kubeconfig = pulumi.secret(
    pulumi.interpolate`apiVersion: v1
kind: Config
clusters:
- name: ${cluster.name}
  cluster:
    server: https://${cluster.endpoint}
    certificate-authority-data: ${cluster.masterAuth.clusterCaCertificate}
contexts:
- name: ${cluster.name}
  context:
    cluster: ${cluster.name}
    user: ${cluster.name}
current-context: ${cluster.name}
users:
- name: ${cluster.name}
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      installHint: Install gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin)
      provideClusterInfo: true
`,
  );
  // The provider waits for the CPU pool, so that nothing is scheduled before a node exists to run it.
  const provider = new k8s.Provider(`${name}-gke`, { kubeconfig }, { dependsOn: [cpuPool] });
  return { cluster, cpuPool, kubeconfig, provider };
}
