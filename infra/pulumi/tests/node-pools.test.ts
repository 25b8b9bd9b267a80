// Cost and placement rules for the cluster and its node pools.
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE_CONFIG, PROJECT, TYPES, expectEvery, runProgram, type Program, type Recorded } from './harness';

const isGpuPool = (r: Recorded) => (r.inputs.nodeConfig?.guestAccelerators ?? []).length > 0;
const taintEffect: Record<string, string> = {
  NO_SCHEDULE: 'NoSchedule',
  PREFER_NO_SCHEDULE: 'PreferNoSchedule',
  NO_EXECUTE: 'NoExecute',
};

describe('default stack', () => {
  let program: Program;
  let gpuPools: Recorded[];
  let cpuPools: Recorded[];
  let gpuWorker: Recorded;
  let cpuWorker: Recorded;
  beforeAll(async () => {
    program = await runProgram();
    gpuPools = program.ofType(TYPES.nodePool).filter(isGpuPool);
    cpuPools = program.ofType(TYPES.nodePool).filter((r) => !isGpuPool(r));
    gpuWorker = program.named(TYPES.deployment, 'hoptm-gpu-worker');
    cpuWorker = program.named(TYPES.deployment, 'hoptm-cpu-worker');
  });

  it('has one GPU pool, of nvidia-l4, by default', () => {
    expect(gpuPools.map((p) => p.inputs.nodeConfig.guestAccelerators[0].type)).toEqual(['nvidia-l4']);
    expect(gpuPools[0]?.inputs.nodeConfig.machineType).toBe('g2-standard-8');
  });

  it('every GPU pool scales from zero to at least one node', () => {
    expectEvery('GPU pools autoscale from 0', gpuPools, (p) => {
      const a = p.inputs.autoscaling;
      if (!a) return 'no autoscaling';
      if (a.totalMinNodeCount !== 0) return `totalMinNodeCount is ${a.totalMinNodeCount}`;
      if (a.minNodeCount !== undefined && a.minNodeCount !== 0) return `minNodeCount is ${a.minNodeCount}`;
      if (!(a.totalMaxNodeCount >= 1)) return `totalMaxNodeCount is ${a.totalMaxNodeCount}`;
      if ((p.inputs.initialNodeCount ?? 0) !== 0) return `initialNodeCount is ${p.inputs.initialNodeCount}`;
      return undefined;
    });
  });

  it('every GPU pool is spot by default', () => {
    expectEvery('GPU pools are spot', gpuPools, (p) => p.inputs.nodeConfig.spot !== true && 'not spot');
  });

  it('every GPU pool has GKE install the driver', () => {
    expectEvery('GPU driver installed by GKE', gpuPools, (p) => {
      const acc = p.inputs.nodeConfig.guestAccelerators;
      if (acc.length !== 1) return `${acc.length} accelerator blocks`;
      const version = acc[0].gpuDriverInstallationConfig?.gpuDriverVersion;
      return !['DEFAULT', 'LATEST'].includes(version) && `gpuDriverVersion is ${version}`;
    });
  });

  it('every GPU node carries a NoSchedule GPU taint', () => {
    expectEvery(
      'GPU pools are tainted',
      gpuPools,
      (p) =>
        !(p.inputs.nodeConfig.taints ?? []).some((t: { effect: string }) => t.effect === 'NO_SCHEDULE') &&
        'no NoSchedule taint',
    );
  });

  it('the GPU worker tolerates every taint of every GPU pool', () => {
    const tolerations: { key: string; operator: string; value?: string; effect: string }[] =
      gpuWorker.inputs.spec.template.spec.tolerations;
    expectEvery('GPU worker tolerations match pool taints', gpuPools, (p) => {
      const untolerated = (
        p.inputs.nodeConfig.taints as { key: string; value: string; effect: string }[]
      ).filter(
        (t) =>
          !tolerations.some(
            (tol) =>
              tol.key === t.key &&
              tol.effect === taintEffect[t.effect] &&
              (tol.operator === 'Exists' || tol.value === t.value),
          ),
      );
      return untolerated.length > 0 && `${gpuWorker.urn} does not tolerate ${JSON.stringify(untolerated)}`;
    });
  });

  it('the CPU worker tolerates no GPU taint, so it never occupies a GPU node', () => {
    expect(cpuWorker.inputs.spec.template.spec.tolerations ?? [], cpuWorker.urn).toEqual([]);
  });

  it("the GPU worker's node selector matches every GPU pool and no CPU pool", () => {
    const selector: Record<string, string> = gpuWorker.inputs.spec.template.spec.nodeSelector;
    expect(Object.keys(selector).length, `${gpuWorker.urn} has no node selector`).toBeGreaterThan(0);
    const matches = (p: Recorded) =>
      Object.entries(selector).every(([k, v]) => p.inputs.nodeConfig.labels?.[k] === v);
    expectEvery(
      'GPU pools match the GPU selector',
      gpuPools,
      (p) => !matches(p) && `labels ${JSON.stringify(p.inputs.nodeConfig.labels)}`,
    );
    expectEvery(
      'CPU pools do not match the GPU selector',
      cpuPools,
      (p) => matches(p) && 'matches the GPU selector',
    );
  });

  it("the CPU worker's node selector matches the CPU pool", () => {
    const selector: Record<string, string> = cpuWorker.inputs.spec.template.spec.nodeSelector;
    expectEvery(
      'CPU pools match the CPU selector',
      cpuPools,
      (p) =>
        !Object.entries(selector).every(([k, v]) => p.inputs.nodeConfig.labels?.[k] === v) &&
        'not selected by the CPU worker',
    );
  });

  it('the CPU pool keeps one node for KEDA and the system pods, and is on-demand', () => {
    expectEvery(
      'CPU pool min 1, on-demand',
      cpuPools,
      (p) =>
        (p.inputs.autoscaling.totalMinNodeCount < 1 && 'scales to zero') ||
        (p.inputs.nodeConfig.spot && 'spot'),
    );
  });

  it('every node pool runs as the dedicated node service account with the GKE metadata server and secure boot', () => {
    const nodeSa = `hoptm-nodes@${PROJECT}.iam.gserviceaccount.com`;
    expectEvery('hardened nodes', program.ofType(TYPES.nodePool), (p) => {
      const c = p.inputs.nodeConfig;
      if (c.serviceAccount !== nodeSa) return `service account ${c.serviceAccount}`;
      if (c.workloadMetadataConfig?.mode !== 'GKE_METADATA')
        return 'no GKE metadata server (Workload Identity)';
      if (c.shieldedInstanceConfig?.enableSecureBoot !== true) return 'no secure boot';
      return c.metadata?.['disable-legacy-endpoints'] !== 'true' && 'legacy metadata endpoints on';
    });
  });

  it('the cluster has Workload Identity, private nodes, no client certificate, no legacy ABAC, no default pool', () => {
    expectEvery('hardened cluster', program.ofType(TYPES.cluster), (c) => {
      const i = c.inputs;
      if (i.workloadIdentityConfig?.workloadPool !== `${PROJECT}.svc.id.goog`)
        return 'no Workload Identity pool';
      if (i.privateClusterConfig?.enablePrivateNodes !== true) return 'nodes have public IPs';
      if (i.masterAuth?.clientCertificateConfig?.issueClientCertificate !== false)
        return 'client certificate issued';
      if (i.enableLegacyAbac) return 'legacy ABAC';
      if (i.removeDefaultNodePool !== true) return 'default node pool kept';
      return (
        i.nodeConfig?.serviceAccount !== `hoptm-nodes@${PROJECT}.iam.gserviceaccount.com` &&
        'default pool runs as another account'
      );
    });
  });
});

describe('a stack with on-demand T4 and spot A100 pools', () => {
  let gpuPools: Recorded[];
  beforeAll(async () => {
    const program = await runProgram({
      ...BASE_CONFIG,
      'hoptm:gpuPools': [
        { gpuType: 'nvidia-tesla-t4', gpuCount: 2, spot: false, maxNodes: 2, zones: ['us-central1-b'] },
        { gpuType: 'nvidia-tesla-a100', maxNodes: 1 },
      ],
    });
    gpuPools = program.ofType(TYPES.nodePool).filter(isGpuPool);
  });

  it('creates one pool per entry with the selected GPU, count and machine type', () => {
    expect(
      gpuPools.map((p) => [
        p.inputs.name,
        p.inputs.nodeConfig.guestAccelerators[0].type,
        p.inputs.nodeConfig.guestAccelerators[0].count,
        p.inputs.nodeConfig.machineType,
      ]),
    ).toEqual([
      ['gpu-t4-ondemand', 'nvidia-tesla-t4', 2, 'n1-standard-16'],
      ['gpu-a100-spot', 'nvidia-tesla-a100', 1, 'a2-highgpu-1g'],
    ]);
  });

  it('honours spot: false, per-pool zones and max nodes', () => {
    const [t4, a100] = gpuPools;
    expect(t4?.inputs.nodeConfig.spot, t4?.urn).toBe(false);
    expect(t4?.inputs.nodeLocations, t4?.urn).toEqual(['us-central1-b']);
    expect(t4?.inputs.autoscaling.totalMaxNodeCount, t4?.urn).toBe(2);
    expect(a100?.inputs.nodeConfig.spot, a100?.urn).toBe(true);
    expect(a100?.inputs.nodeLocations, a100?.urn).toEqual([
      'us-central1-a',
      'us-central1-b',
      'us-central1-c',
    ]);
  });

  it('still scales every GPU pool from zero', () => {
    expectEvery(
      'GPU pools autoscale from 0',
      gpuPools,
      (p) => p.inputs.autoscaling.totalMinNodeCount !== 0 && 'min > 0',
    );
  });
});
