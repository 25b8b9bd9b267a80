// The HoP-TM deployment on Google Cloud: read the stack configuration, build the network, the cluster and its
// node pools, the identities, the registry and the buckets, then KEDA and the two worker classes.
// Every piece lives in its own file; this one only composes them and names the stack outputs.
import { createCluster } from './cluster';
import { GpuNodePool } from './components/gpuNodePool';
import { loadConfig } from './config';
import { createNodeServiceAccount, createWorkerIdentity } from './identity';
import { installKeda } from './keda';
import { createNetwork } from './network';
import { createRegistry } from './registry';
import { createStorage } from './storage';
import { createWorkers } from './workers';

const config = loadConfig();

const { network, subnetwork } = createNetwork(config);
const nodes = createNodeServiceAccount(config);
const { cluster, kubeconfig, provider } = createCluster(config, network, subnetwork, nodes.account.email);
const gpuPools = config.gpuPools.map(
  (pool) =>
    new GpuNodePool(`${config.name}-gpu-${pool.name}`, {
      project: config.project,
      location: config.region,
      cluster: cluster.name,
      nodeServiceAccount: nodes.account.email,
      pool,
    }),
);
const identities = {
  cpu: createWorkerIdentity(config, 'cpu', [cluster]),
  gpu: createWorkerIdentity(config, 'gpu', [cluster]),
};
const registry = createRegistry(config, nodes.member);
const storage = createStorage(config, [
  { id: 'cpu-worker', member: identities.cpu.member },
  { id: 'gpu-worker', member: identities.gpu.member },
]);
const keda = installKeda(config, provider);
const workers = createWorkers(config, {
  provider,
  keda,
  registryUrl: registry.url,
  datasetsUrl: storage.datasets.url,
  artifactsUrl: storage.artifacts.url,
  identities,
});

export const clusterName = cluster.name;
export const clusterLocation = cluster.location;
export { kubeconfig };
export const gpuNodePools = gpuPools.map((p) => p.poolName);
export const datasetsBucket = storage.datasets.url;
export const artifactsBucket = storage.artifacts.url;
export const registryUrl = registry.url;
export const serviceAccounts = {
  cpuWorker: identities.cpu.account.email,
  gpuWorker: identities.gpu.account.email,
  nodes: nodes.account.email,
};
export const namespace = workers.namespace.metadata.name;
export const workerDeployments = { cpu: workers.cpu.deploymentName, gpu: workers.gpu.deploymentName };
