// The workers' namespace and the two worker classes. The CPU worker (workflows and I/O activities on the CPU
// queue) runs a fixed number of replicas on the CPU pool; the GPU worker (one activity at a time on the GPU
// queue) scales from zero with KEDA on the GPU pools, whose taint it tolerates.
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { NODE_CLASS_LABEL } from './cluster';
import { GPU_TAINT } from './components/gpuNodePool';
import { WorkerDeployment } from './components/workerDeployment';
import type { InfraConfig } from './config';
import { podsPerNode } from './gpu';
import { kubernetesServiceAccountName, type WorkerIdentity } from './identity';
import { createTemporalConnection } from './temporal';

export const HEALTH_FILE = '/tmp/hoptm-worker.health';

/** Taint effects are spelled differently by GKE (NO_SCHEDULE) and Kubernetes (NoSchedule). */
const EFFECTS = {
  NO_SCHEDULE: 'NoSchedule',
  PREFER_NO_SCHEDULE: 'PreferNoSchedule',
  NO_EXECUTE: 'NoExecute',
} as const;

/** GPU worker pods the pools can hold at their maximum size. */
export function gpuWorkerCapacity(config: InfraConfig): number {
  const pod = {
    cpu: config.gpuWorker.cpu,
    memoryGiB: config.gpuWorker.memoryGiB,
    gpus: config.gpuWorker.gpusPerWorker,
  };
  return config.gpuPools.reduce((sum, p) => sum + p.maxNodes * podsPerNode(p.shape, p.gpuCount, pod), 0);
}

export interface WorkerDeps {
  provider: k8s.Provider;
  keda: pulumi.Resource;
  registryUrl: pulumi.Input<string>;
  datasetsUrl: pulumi.Input<string>;
  artifactsUrl: pulumi.Input<string>;
  identities: { cpu: WorkerIdentity; gpu: WorkerIdentity };
}

export function createWorkers(config: InfraConfig, deps: WorkerDeps) {
  const opts = { providers: [deps.provider] };
  const namespace = new k8s.core.v1.Namespace(
    `${config.name}-namespace`,
    {
      metadata: {
        name: config.namespace,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    },
    { provider: deps.provider },
  );
  const ns = namespace.metadata.name;
  const temporal = createTemporalConnection(config, ns, deps.provider);
  const commonEnv = (taskQueue: string, backend: string) => [
    { name: 'HOPTM_TASK_QUEUE', value: taskQueue },
    { name: 'HOPTM_BACKEND', value: backend },
    { name: 'HOPTM_STORAGE_URL', value: deps.artifactsUrl },
    { name: 'HOPTM_DATASETS_URL', value: deps.datasetsUrl },
    { name: 'HOPTM_CHECKPOINT_INTERVAL_SECONDS', value: `${config.checkpointIntervalSeconds}` },
    { name: 'HOPTM_SHUTDOWN_GRACE_SECONDS', value: `${config.workerShutdownGraceSeconds}` },
    { name: 'HOPTM_HEALTH_FILE', value: HEALTH_FILE },
    ...temporal.env,
  ];

  const cpu = new WorkerDeployment(
    `${config.name}-cpu-worker`,
    {
      namespace: ns,
      workerName: kubernetesServiceAccountName(config, 'cpu'),
      image: pulumi.interpolate`${deps.registryUrl}/worker-cpu:${config.images.cpuTag}`,
      gcpServiceAccountEmail: deps.identities.cpu.account.email,
      resources: { cpu: config.cpuWorker.cpu, memoryGiB: config.cpuWorker.memoryGiB, gpus: 0 },
      nodeSelector: { [NODE_CLASS_LABEL]: 'cpu' },
      tolerations: [],
      env: commonEnv(config.temporal.cpuTaskQueue, config.cpuWorker.backend),
      volumes: temporal.volumes,
      volumeMounts: temporal.volumeMounts,
      terminationGracePeriodSeconds: config.terminationGracePeriodSeconds,
      replicas: config.cpuWorker.replicas,
      maxUnavailable: 1,
    },
    opts,
  );

  const gpu = new WorkerDeployment(
    `${config.name}-gpu-worker`,
    {
      namespace: ns,
      workerName: kubernetesServiceAccountName(config, 'gpu'),
      image: pulumi.interpolate`${deps.registryUrl}/worker-gpu:${config.images.gpuTag}`,
      gcpServiceAccountEmail: deps.identities.gpu.account.email,
      resources: {
        cpu: config.gpuWorker.cpu,
        memoryGiB: config.gpuWorker.memoryGiB,
        gpus: config.gpuWorker.gpusPerWorker,
      },
      nodeSelector: { [NODE_CLASS_LABEL]: 'gpu' },
      tolerations: [
        { key: GPU_TAINT.key, operator: 'Equal', value: GPU_TAINT.value, effect: EFFECTS[GPU_TAINT.effect] },
      ],
      env: [
        ...commonEnv(config.temporal.gpuTaskQueue, config.gpuWorker.backend),
        // One activity at a time per GPU (style.md section 3).
        { name: 'HOPTM_MAX_CONCURRENT_ACTIVITIES', value: '1' },
      ],
      volumes: temporal.volumes,
      volumeMounts: temporal.volumeMounts,
      terminationGracePeriodSeconds: config.terminationGracePeriodSeconds,
      maxUnavailable: 0,
      scaler: {
        taskQueue: config.temporal.gpuTaskQueue,
        temporalMetadata: temporal.scalerMetadata,
        temporalAuth: temporal.scalerAuth,
        activitiesPerWorker: 1,
        maxReplicas: gpuWorkerCapacity(config),
        pollingIntervalSeconds: config.scaling.pollingIntervalSeconds,
        cooldownSeconds: config.scaling.cooldownSeconds,
        scaleDownStabilizationSeconds: config.scaling.scaleDownStabilizationSeconds,
        scaleDownPeriodSeconds: config.scaling.scaleDownPeriodSeconds,
        scaleUpPodsPerMinute: config.scaling.scaleUpPodsPerMinute,
        keda: deps.keda,
      },
    },
    opts,
  );
  return { namespace, cpu, gpu };
}
