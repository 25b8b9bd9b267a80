// The stack outputs that docs/deploy.md tells people to use.
import { beforeAll, expect, it } from 'vitest';
import { PROJECT, runProgram, type Program } from './harness';

let program: Program;
beforeAll(async () => {
  program = await runProgram();
});

it('exports the cluster, the buckets, the registry URL and the service-account emails', () => {
  expect(program.outputs).toMatchObject({
    clusterName: 'hoptm',
    clusterLocation: 'us-central1',
    datasetsBucket: `gs://${PROJECT}-hoptm-datasets`,
    artifactsBucket: `gs://${PROJECT}-hoptm-artifacts`,
    registryUrl: `us-central1-docker.pkg.dev/${PROJECT}/hoptm`,
    serviceAccounts: {
      cpuWorker: `hoptm-cpu-worker@${PROJECT}.iam.gserviceaccount.com`,
      gpuWorker: `hoptm-gpu-worker@${PROJECT}.iam.gserviceaccount.com`,
      nodes: `hoptm-nodes@${PROJECT}.iam.gserviceaccount.com`,
    },
    gpuNodePools: ['gpu-l4-spot'],
    namespace: 'hoptm',
  });
});

it('exports the kubeconfig as a secret, authenticating through gcloud rather than a stored credential', () => {
  expect(program.secretOutputs.has('kubeconfig')).toBe(true);
  expect(program.outputs.kubeconfig).toContain('command: gke-gcloud-auth-plugin');
  expect(program.outputs.kubeconfig).not.toMatch(/client-key-data|token:|password:/);
});
