// The workers on Kubernetes: KEDA scales the GPU worker on its task queue from zero without removing busy
// pods, the grace period covers a checkpoint, pods are locked down, and the Temporal connection is wired.
import { isDeepStrictEqual } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE_CONFIG, TYPES, env, expectEvery, runProgram, type Program, type Recorded } from './harness';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are JSON */
const podSpec = (d: Recorded) => d.inputs.spec.template.spec;
const container = (d: Recorded) => podSpec(d).containers[0];

describe('default stack', () => {
  let program: Program;
  let gpu: Recorded;
  let cpu: Recorded;
  let scaler: Recorded;
  let deployments: Recorded[];
  beforeAll(async () => {
    program = await runProgram();
    gpu = program.named(TYPES.deployment, 'hoptm-gpu-worker');
    cpu = program.named(TYPES.deployment, 'hoptm-cpu-worker');
    scaler = program.only(TYPES.scaledObject);
    deployments = program.ofType(TYPES.deployment);
  });

  it('the ScaledObject scales the GPU deployment', () => {
    expect(scaler.inputs.spec.scaleTargetRef, scaler.urn).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'hoptm-gpu-worker',
    });
    expect(scaler.inputs.metadata.namespace, scaler.urn).toBe(gpu.inputs.metadata.namespace);
  });

  it('the ScaledObject scales to zero', () => {
    expect(scaler.inputs.spec.minReplicaCount, scaler.urn).toBe(0);
    expect(scaler.inputs.spec.advanced.scalingModifiers.activationTarget, scaler.urn).toBe('0');
    expect(
      gpu.inputs.spec.replicas,
      `${gpu.urn}: Pulumi must leave the replica count to KEDA`,
    ).toBeUndefined();
  });

  it("the Temporal trigger watches the GPU task queue's activity backlog", () => {
    const temporal = scaler.inputs.spec.triggers.filter((t: any) => t.type === 'temporal');
    expect(temporal, scaler.urn).toHaveLength(1);
    expect(temporal[0].metadata, scaler.urn).toMatchObject({
      taskQueue: 'hoptm-gpu',
      queueTypes: 'activity',
      namespace: 'default',
      endpoint: 'temporal-frontend.temporal.svc.cluster.local:7233',
    });
    expect(env(gpu).HOPTM_TASK_QUEUE, gpu.urn).toBe('hoptm-gpu');
    expect(env(cpu).HOPTM_TASK_QUEUE, cpu.urn).toBe('hoptm-cpu');
  });

  it('busy GPU pods count towards the desired replicas, so scale-down never goes below the running work', () => {
    const triggers: any[] = scaler.inputs.spec.triggers;
    const busy = triggers.find((t) => t.type === 'kubernetes-workload');
    expect(busy, `${scaler.urn}: no trigger counts busy pods`).toBeDefined();
    // The selector picks exactly the GPU worker's pods that carry the busy label.
    const podLabels = gpu.inputs.spec.template.metadata.labels;
    const selector = Object.fromEntries(
      busy.metadata.podSelector.split(',').map((kv: string) => kv.split('=')),
    );
    expect(selector, scaler.urn).toEqual({
      'app.kubernetes.io/name': podLabels['app.kubernetes.io/name'],
      'hoptm.dev/busy': 'true',
    });
    // The formula adds both triggers, by name.
    const formula: string = scaler.inputs.spec.advanced.scalingModifiers.formula;
    for (const t of triggers)
      expect(formula, `${scaler.urn}: formula ignores trigger ${t.name}`).toContain(t.name);
    expect(formula, scaler.urn).toMatch(/backlog\s*\+\s*busy/);
  });

  it('the GPU worker gets its pod name to label itself busy', () => {
    expect(env(gpu).POD_NAME, gpu.urn).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env(gpu).HOPTM_BUSY_LABEL, gpu.urn).toBe('hoptm.dev/busy');
  });

  it('scale-down is gradual: one pod per period after a stabilization window', () => {
    const down = scaler.inputs.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown;
    expect(down.policies, scaler.urn).toEqual([{ type: 'Pods', value: 1, periodSeconds: 120 }]);
    expect(down.selectPolicy, scaler.urn).toBe('Min');
    expect(down.stabilizationWindowSeconds, scaler.urn).toBeGreaterThanOrEqual(60);
    expect(scaler.inputs.spec.cooldownPeriod, scaler.urn).toBeGreaterThanOrEqual(300);
  });

  it('the cluster autoscaler may not evict a GPU worker to consolidate nodes', () => {
    expect(
      gpu.inputs.spec.template.metadata.annotations['cluster-autoscaler.kubernetes.io/safe-to-evict'],
      gpu.urn,
    ).toBe('false');
  });

  it('maxReplicaCount is what the GPU pools can hold at full size', () => {
    // Default: one pool of at most 4 g2-standard-8 nodes, one L4 each, one worker per GPU.
    expect(scaler.inputs.spec.maxReplicaCount, scaler.urn).toBe(4);
  });

  it('the grace period covers one checkpoint interval and its write, with margin', () => {
    expectEvery('terminationGracePeriodSeconds >= interval + write + 30 s', deployments, (d) => {
      const grace = podSpec(d).terminationGracePeriodSeconds;
      const workerGrace = Number(env(d).HOPTM_SHUTDOWN_GRACE_SECONDS);
      if (Number(env(d).HOPTM_CHECKPOINT_INTERVAL_SECONDS) !== 120)
        return 'checkpoint interval not passed to the worker';
      if (!(workerGrace >= 120 + 60))
        return `worker shutdown grace ${workerGrace}s < interval 120s + write 60s`;
      return !(grace >= workerGrace + 30) && `grace ${grace}s leaves no margin over ${workerGrace}s`;
    });
  });

  it('GPU pods request exactly their GPUs; CPU pods request none', () => {
    expect(container(gpu).resources.limits['nvidia.com/gpu'], gpu.urn).toBe('1');
    expect(container(cpu).resources.limits['nvidia.com/gpu'], cpu.urn).toBeUndefined();
    expectEvery('requests and memory limits set', deployments, (d) => {
      const r = container(d).resources;
      return (
        (!r.requests?.cpu || !r.requests?.memory || r.limits?.memory !== r.requests.memory) &&
        JSON.stringify(r)
      );
    });
  });

  it('the GPU worker runs one activity at a time on the WebGPU backend', () => {
    expect(env(gpu).HOPTM_MAX_CONCURRENT_ACTIVITIES, gpu.urn).toBe('1');
    expect(env(gpu).HOPTM_BACKEND, gpu.urn).toBe('webgpu');
    expect(env(cpu).HOPTM_BACKEND, cpu.urn).toBe('wasm');
  });

  it('workers find their buckets through the environment', () => {
    expectEvery(
      'storage URLs',
      deployments,
      (d) =>
        (env(d).HOPTM_STORAGE_URL !== 'gs://hoptm-test-hoptm-artifacts' ||
          env(d).HOPTM_DATASETS_URL !== 'gs://hoptm-test-hoptm-datasets') &&
        JSON.stringify([env(d).HOPTM_STORAGE_URL, env(d).HOPTM_DATASETS_URL]),
    );
  });

  it('images come from the stack registry with the configured tags', () => {
    expect(container(gpu).image, gpu.urn).toBe(
      'us-central1-docker.pkg.dev/hoptm-test/hoptm/worker-gpu:0.1.0',
    );
    expect(container(cpu).image, cpu.urn).toBe(
      'us-central1-docker.pkg.dev/hoptm-test/hoptm/worker-cpu:0.1.0',
    );
  });

  it('a PodDisruptionBudget covers each worker; none allows evicting a GPU worker', () => {
    const pdbs = program.ofType(TYPES.pdb);
    expectEvery('each deployment has a matching PDB', deployments, (d) => {
      const labels = d.inputs.spec.template.metadata.labels;
      const pdb = pdbs.find((p) =>
        Object.entries(p.inputs.spec.selector.matchLabels).every(([k, v]) => labels[k] === v),
      );
      return !pdb && 'no PodDisruptionBudget selects its pods';
    });
    const gpuPdb = program.named(TYPES.pdb, 'hoptm-gpu-worker');
    expect(gpuPdb.inputs.spec.maxUnavailable, gpuPdb.urn).toBe(0);
  });

  it('pods run as non-root with a read-only root filesystem, no privilege escalation and no capabilities', () => {
    expectEvery('restricted pods', deployments, (d) => {
      const pod = podSpec(d).securityContext;
      const c = container(d).securityContext;
      if (pod.runAsNonRoot !== true || !(pod.runAsUser > 0)) return 'may run as root';
      if (pod.seccompProfile?.type !== 'RuntimeDefault') return 'no seccomp profile';
      if (c.allowPrivilegeEscalation !== false) return 'privilege escalation allowed';
      if (c.readOnlyRootFilesystem !== true) return 'writable root filesystem';
      return JSON.stringify(c.capabilities?.drop) !== '["ALL"]' && 'capabilities kept';
    });
    const ns = program.only(TYPES.namespace);
    expect(ns.inputs.metadata.labels['pod-security.kubernetes.io/enforce'], ns.urn).toBe('restricted');
  });

  it('the liveness probe runs the same health check as the image', () => {
    expectEvery(
      'liveness probe',
      deployments,
      (d) =>
        JSON.stringify(container(d).livenessProbe?.exec?.command) !==
          '["node","/app/infra/docker/healthcheck.mjs"]' && 'no health check',
    );
  });

  it('self-hosted Temporal without auth: no Secret, no TriggerAuthentication, no credentials in the environment', () => {
    expect(program.ofType(TYPES.secret)).toEqual([]);
    expect(program.ofType(TYPES.triggerAuthentication)).toEqual([]);
    expect(
      Object.keys(env(gpu)).filter((k) => /API_KEY|TLS/.test(k)),
      gpu.urn,
    ).toEqual([]);
  });

  it('pulumi up does not block on worker rollouts (the images are pushed after the registry exists)', () => {
    expectEvery(
      'skipAwait on worker Deployments',
      deployments,
      (d) =>
        d.inputs.metadata.annotations?.['pulumi.com/skipAwait'] !== 'true' &&
        'Pulumi would wait for the rollout',
    );
  });

  it('KEDA is installed from a pinned chart version', () => {
    const keda = program.only(TYPES.helmRelease);
    expect(keda.inputs.chart, keda.urn).toBe('keda');
    expect(keda.inputs.version, keda.urn).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('longer checkpoint interval', () => {
  it('grows the grace period with it', async () => {
    const program = await runProgram({
      ...BASE_CONFIG,
      'hoptm:checkpointIntervalSeconds': 900,
      'hoptm:checkpointWriteSeconds': 120,
    });
    expectEvery('grace covers 900 s + 120 s', program.ofType(TYPES.deployment), (d) => {
      const grace = podSpec(d).terminationGracePeriodSeconds;
      return !(grace >= 900 + 120 + 30) && `grace ${grace}s`;
    });
  });
});

describe('Temporal Cloud with an API key', () => {
  let program: Program;
  beforeAll(async () => {
    program = await runProgram(
      {
        ...BASE_CONFIG,
        'hoptm:temporal': {
          address: 'hoptm.a1b2c.tmprl.cloud:7233',
          namespace: 'hoptm.a1b2c',
          auth: 'apiKey',
        },
      },
      { temporalApiKey: 'test-api-key' },
    );
  });

  it('the key lives in a Secret and reaches the workers only through it', () => {
    const secret = program.only(TYPES.secret);
    expect(secret.inputs.stringData, secret.urn).toEqual({ 'api-key': 'test-api-key' });
    expect(secret.secretPaths, `${secret.urn}: the key must stay a Pulumi secret in the state`).toContain(
      'stringData',
    );
    expectEvery(
      'API key from the Secret',
      program.ofType(TYPES.deployment),
      (d) =>
        !isDeepStrictEqual(env(d).TEMPORAL_API_KEY, {
          secretKeyRef: { name: 'hoptm-temporal', key: 'api-key' },
        }) && `TEMPORAL_API_KEY is ${JSON.stringify(env(d).TEMPORAL_API_KEY)}`,
    );
  });

  it('the scaler authenticates with the same Secret', () => {
    const auth = program.only(TYPES.triggerAuthentication);
    expect(auth.inputs.spec.secretTargetRef, auth.urn).toEqual([
      { parameter: 'apiKey', name: 'hoptm-temporal', key: 'api-key' },
    ]);
    const scaler = program.only(TYPES.scaledObject);
    const temporal = scaler.inputs.spec.triggers.find((t: any) => t.type === 'temporal');
    expect(temporal.authenticationRef, scaler.urn).toEqual({ name: auth.inputs.metadata.name });
    expect(temporal.metadata.namespace, scaler.urn).toBe('hoptm.a1b2c');
  });
});

describe('mTLS', () => {
  let program: Program;
  beforeAll(async () => {
    program = await runProgram(
      {
        ...BASE_CONFIG,
        'hoptm:temporal': {
          address: 'temporal.example.org:7233',
          auth: 'mtls',
          tlsServerName: 'temporal.example.org',
        },
      },
      { temporalTlsCert: 'CERT', temporalTlsKey: 'KEY' },
    );
  });

  it('certificate and key are mounted read-only from the Secret, and the worker is told where', () => {
    expectEvery('TLS files mounted', program.ofType(TYPES.deployment), (d) => {
      const mount = container(d).volumeMounts.find((m: any) => m.name === 'temporal-tls');
      const volume = podSpec(d).volumes.find((v: any) => v.name === 'temporal-tls');
      if (!mount?.readOnly || volume?.secret?.secretName !== 'hoptm-temporal')
        return 'TLS secret not mounted read-only';
      const e = env(d);
      return (
        (e.TEMPORAL_TLS_CERT !== `${mount.mountPath}/tls.crt` ||
          e.TEMPORAL_TLS_KEY !== `${mount.mountPath}/tls.key`) &&
        JSON.stringify(e)
      );
    });
  });

  it('the scaler uses the client certificate too', () => {
    const auth = program.only(TYPES.triggerAuthentication);
    expect(auth.inputs.spec.secretTargetRef, auth.urn).toEqual([
      { parameter: 'cert', name: 'hoptm-temporal', key: 'tls.crt' },
      { parameter: 'key', name: 'hoptm-temporal', key: 'tls.key' },
    ]);
    const temporal = program
      .only(TYPES.scaledObject)
      .inputs.spec.triggers.find((t: any) => t.type === 'temporal');
    expect(temporal.metadata.tlsServerName).toBe('temporal.example.org');
  });
});
