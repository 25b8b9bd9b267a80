// The stack configuration, read once and validated (style.md section 9). Every key lives under the project's
// namespace (`hoptm:`), except the GCP project and region, which are the provider's own `gcp:project` and
// `gcp:region` so that the program and the default provider cannot disagree. Structured keys are JSON (set
// them with `pulumi config set --path`); `Config.getObject` only parses JSON, so everything goes through the
// zod schema below, which holds each key's default and says why. Secrets (the Temporal credentials) stay
// Pulumi secrets and never pass through the schema.
import * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { gpuCatalogue, gpuTypes, podsPerNode, type GpuType, type MachineShape } from './gpu';

const dnsLabel = z.string().regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 'lower-case letters, digits and dashes');
const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR such as 10.0.0.0/20');
const seconds = z.int().positive();

export const gpuPoolSchema = z
  .strictObject({
    /** Pool name suffix; default `<gpu>-<spot|ondemand>`. */
    name: dnsLabel.max(20).optional(),
    /** Default nvidia-l4: cheapest current GPU with good spot capacity (docs/adr-infra.md). */
    gpuType: z.enum(gpuTypes).default('nvidia-l4'),
    /** GPUs per node. */
    gpuCount: z.int().positive().default(1),
    /** Default: the catalogue's machine type for this GPU and count (gpu.ts). */
    machineType: z.string().optional(),
    /** 0: the pool scales from zero, so an idle stack costs no GPU. */
    minNodes: z.int().nonnegative().default(0),
    /** Caps the spend: nodes in the pool across its zones. */
    maxNodes: z.int().positive().default(4),
    /** Spot by default: checkpointed, retried activities survive preemption at 60-90% off. */
    spot: z.boolean().default(true),
    /** Zones for this pool, a subset of the cluster's zones; default all of them. */
    zones: z.array(z.string()).min(1).optional(),
    diskSizeGb: z.int().min(50).default(100),
    /** GKE-managed driver install; LATEST has the newest Vulkan driver for WebGPU. */
    driverVersion: z.enum(['DEFAULT', 'LATEST']).default('LATEST'),
  })
  .meta({ title: 'GPU node pool' });

const cpuPoolSchema = z
  .strictObject({
    /** Runs the CPU worker (workflows, I/O activities), KEDA and the system pods. */
    machineType: z.string().default('e2-standard-4'),
    /** At least one node: KEDA and kube-system live here. */
    minNodes: z.int().positive().default(1),
    maxNodes: z.int().positive().default(3),
    /** On-demand: KEDA and the workflow worker should not be preempted. */
    spot: z.boolean().default(false),
    diskSizeGb: z.int().min(30).default(50),
  })
  .meta({ title: 'CPU node pool' });

const networkSchema = z
  .strictObject({
    nodesCidr: cidr.default('10.10.0.0/20'),
    podsCidr: cidr.default('10.20.0.0/14'),
    servicesCidr: cidr.default('10.24.0.0/20'),
    /** The control plane's private range (private nodes). */
    masterCidr: cidr.default('172.16.0.0/28'),
    /** Who may reach the Kubernetes API; empty means any address (still IAM-authenticated). */
    masterAuthorizedNetworks: z.array(z.strictObject({ name: z.string(), cidr })).default([]),
  })
  .meta({ title: 'network' });

const storageSchema = z
  .strictObject({
    /** Default `<project>-<name>-datasets`. */
    datasetsBucket: z.string().optional(),
    /** Default `<project>-<name>-artifacts`. */
    artifactsBucket: z.string().optional(),
    /** Live checkpoint objects older than this are deleted; results never are. */
    checkpointRetentionDays: z.int().positive().default(7),
    /** Overwritten or deleted checkpoint versions are purged after this many days. */
    noncurrentCheckpointDays: z.int().positive().default(1),
    /**
     * GCS lifecycle rules match only an object name's prefix or suffix, and every key starts with its run id,
     * so checkpoints are recognised by suffix: every object under `<runId>/distill/<stage>/checkpoint/` ends
     * with it, and nothing else does (docs/adr-infra.md).
     */
    checkpointSuffix: z
      .string()
      .regex(/^\.[a-z0-9.]+$/)
      .default('.ckpt'),
  })
  .meta({ title: 'storage' });

const temporalSchema = z
  .strictObject({
    /** `host:port` of the frontend: `<ns>.<acct>.tmprl.cloud:7233`, or an in-cluster/self-hosted address. */
    address: z.string().regex(/^[^\s:/]+:\d+$/, 'must be host:port, such as my-ns.a1b2c.tmprl.cloud:7233'),
    namespace: z.string().min(1).default('default'),
    /** none (self-hosted, plaintext), apiKey (secret hoptm:temporalApiKey) or mtls (hoptm:temporalTlsCert/Key). */
    auth: z.enum(['none', 'apiKey', 'mtls']).default('none'),
    /** SNI override, e.g. when connecting to a self-hosted server through an IP. */
    tlsServerName: z.string().optional(),
    /** The queue polled by the GPU worker; KEDA scales on its backlog. */
    gpuTaskQueue: z.string().default('hoptm-gpu'),
    /** The queue of the CPU worker (workflows and I/O activities). */
    cpuTaskQueue: z.string().default('hoptm-cpu'),
  })
  .meta({ title: 'Temporal connection' });

const imagesSchema = z
  .strictObject({
    /** Tags pushed by docs/deploy.md; default the version in the root package.json. */
    cpuTag: z.string().default('0.1.0'),
    gpuTag: z.string().default('0.1.0'),
  })
  .meta({ title: 'image tags' });

const backends = ['auto', 'cpu', 'wasm', 'webgpu', 'tensorflow'] as const;

const gpuWorkerSchema = z
  .strictObject({
    /** webgpu, not auto: a GPU worker that silently fell back to a CPU backend would be ~500x slower. */
    backend: z.enum(backends).default('webgpu'),
    /** Requests; they must fit every GPU pool's machine (checked below). */
    cpu: z.number().positive().default(4),
    memoryGiB: z.number().positive().default(16),
    gpusPerWorker: z.int().positive().default(1),
  })
  .meta({ title: 'GPU worker' });

const cpuWorkerSchema = z
  .strictObject({
    /** wasm: the fastest CPU backend measured (platform.md section 2). */
    backend: z.enum(backends).default('wasm'),
    cpu: z.number().positive().default(2),
    memoryGiB: z.number().positive().default(8),
    replicas: z.int().positive().default(1),
  })
  .meta({ title: 'CPU worker' });

const scalingSchema = z
  .strictObject({
    pollingIntervalSeconds: seconds.default(15),
    /** Idle time (no backlog, no busy worker) before the GPU workers go to zero. */
    cooldownSeconds: seconds.default(600),
    /** The HPA keeps the highest recommendation of this window before removing pods. */
    scaleDownStabilizationSeconds: seconds.default(300),
    /** At most one GPU pod is removed per this period. */
    scaleDownPeriodSeconds: seconds.default(120),
    /** New GPU pods per minute while the backlog grows. */
    scaleUpPodsPerMinute: z.int().positive().default(4),
  })
  .meta({ title: 'GPU worker autoscaling' });

export const configSchema = z
  .strictObject({
    project: z.string().min(1),
    region: z.string().default('us-central1'),
    /** Zones of the cluster's nodes; each GPU pool uses these or a subset. Check GPU availability per zone. */
    zones: z.array(z.string()).min(1).optional(),
    /** Prefix of every physical name, so that several stacks can share one GCP project. */
    name: dnsLabel.max(12).default('hoptm'),
    /** Kubernetes namespace of the workers. */
    namespace: dnsLabel.default('hoptm'),
    /** The cluster refuses `pulumi destroy` until this is turned off. */
    deletionProtection: z.boolean().default(true),
    /** Checkpoints are written at least this often; the pod's grace period covers one interval. */
    checkpointIntervalSeconds: seconds.default(120),
    /** Time to serialise and upload one checkpoint. */
    checkpointWriteSeconds: seconds.default(60),
    network: networkSchema.prefault({}),
    cpuPool: cpuPoolSchema.prefault({}),
    gpuPools: z.array(gpuPoolSchema).min(1).prefault([{}]),
    storage: storageSchema.prefault({}),
    temporal: temporalSchema,
    images: imagesSchema.prefault({}),
    gpuWorker: gpuWorkerSchema.prefault({}),
    cpuWorker: cpuWorkerSchema.prefault({}),
    scaling: scalingSchema.prefault({}),
    /** KEDA Helm chart (kedacore/charts); 2.17+ has the Temporal scaler. */
    kedaChartVersion: z.string().default('2.21.1'),
  })
  .meta({ title: 'HoP-TM stack configuration' })
  .superRefine((c, ctx) => {
    const zones = c.zones ?? defaultZones(c.region);
    const foreign = zones.filter((z) => !z.startsWith(`${c.region}-`));
    if (foreign.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['zones'],
        message: `zones not in ${c.region}: ${foreign.join(', ')}`,
      });
    }
    const names = c.gpuPools.map(poolName);
    const dupes = names.filter((n, i) => names.indexOf(n) !== i);
    if (dupes.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['gpuPools'],
        message: `duplicate pool names: ${dupes.join(', ')}`,
      });
    }
    c.gpuPools.forEach((pool, i) => {
      const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['gpuPools', i], message });
      const facts = gpuCatalogue[pool.gpuType];
      if (!facts.counts.includes(pool.gpuCount)) {
        issue(`${pool.gpuType} nodes take ${facts.counts.join(', ')} GPUs, not ${pool.gpuCount}`);
        return;
      }
      const machineType = pool.machineType ?? facts.defaultMachine[pool.gpuCount];
      const shape = machineType === undefined ? undefined : facts.machines[machineType];
      if (machineType === undefined || shape === undefined) {
        issue(
          `machine type ${machineType} cannot carry ${pool.gpuType}; use one of ${Object.keys(facts.machines).join(', ')}`,
        );
        return;
      }
      if (shape.fixedGpus !== undefined && shape.fixedGpus !== pool.gpuCount) {
        issue(`${machineType} comes with ${shape.fixedGpus} GPU(s), not ${pool.gpuCount}`);
      }
      if (pool.minNodes > pool.maxNodes) issue(`minNodes ${pool.minNodes} > maxNodes ${pool.maxNodes}`);
      const outside = (pool.zones ?? []).filter((z) => !zones.includes(z));
      if (outside.length > 0) issue(`zones not among the cluster's zones: ${outside.join(', ')}`);
      const pod = { cpu: c.gpuWorker.cpu, memoryGiB: c.gpuWorker.memoryGiB, gpus: c.gpuWorker.gpusPerWorker };
      if (podsPerNode(shape, pool.gpuCount, pod) < 1) {
        issue(
          `a GPU worker (${pod.cpu} vCPU, ${pod.memoryGiB} GiB, ${pod.gpus} GPU) does not fit on ${machineType} ` +
            `with ${pool.gpuCount} GPU(s)`,
        );
      }
    });
    if (c.cpuPool.minNodes > c.cpuPool.maxNodes) {
      ctx.addIssue({ code: 'custom', path: ['cpuPool'], message: 'minNodes > maxNodes' });
    }
  });

export type RawConfig = z.input<typeof configSchema>;
type ParsedConfig = z.output<typeof configSchema>;

export interface GpuPoolConfig {
  name: string;
  gpuType: GpuType;
  gpuCount: number;
  machineType: string;
  shape: MachineShape;
  minNodes: number;
  maxNodes: number;
  spot: boolean;
  zones: string[];
  diskSizeGb: number;
  driverVersion: 'DEFAULT' | 'LATEST';
}

export interface TemporalSecrets {
  apiKey?: pulumi.Output<string>;
  tlsCert?: pulumi.Output<string>;
  tlsKey?: pulumi.Output<string>;
  tlsCa?: pulumi.Output<string>;
}

export type InfraConfig = Omit<ParsedConfig, 'zones' | 'gpuPools' | 'storage'> & {
  zones: string[];
  gpuPools: GpuPoolConfig[];
  storage: ParsedConfig['storage'] & { datasetsBucket: string; artifactsBucket: string };
  temporalSecrets: TemporalSecrets;
  /** Pod grace period: finish the interval, write the checkpoint, exit, with 30 s to spare. */
  terminationGracePeriodSeconds: number;
  /** What the worker gives itself to reach and write its next checkpoint (its shutdownGraceTime). */
  workerShutdownGraceSeconds: number;
};

export function defaultZones(region: string): string[] {
  return ['a', 'b', 'c'].map((z) => `${region}-${z}`);
}

function poolName(pool: { name?: string; gpuType: GpuType; spot: boolean }): string {
  return pool.name ?? `${pool.gpuType.replace(/^nvidia-(tesla-)?/, '')}-${pool.spot ? 'spot' : 'ondemand'}`;
}

/**
 * Validates raw values (as read from the stack) and resolves every derived default. Throws one error that
 * names the stack file and lists every invalid key.
 */
export function parseConfig(raw: unknown, secrets: TemporalSecrets = {}): InfraConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new Error(
      `Invalid stack configuration (Pulumi.<stack>.yaml, keys under hoptm: and gcp:):\n${z.prettifyError(result.error)}`,
    );
  }
  const c = result.data;
  const missing =
    c.temporal.auth === 'apiKey'
      ? secrets.apiKey
        ? []
        : ['hoptm:temporalApiKey']
      : c.temporal.auth === 'mtls'
        ? [!secrets.tlsCert && 'hoptm:temporalTlsCert', !secrets.tlsKey && 'hoptm:temporalTlsKey'].filter(
            (k): k is string => typeof k === 'string',
          )
        : [];
  if (missing.length > 0) {
    throw new Error(
      `Invalid stack configuration: temporal.auth is ${c.temporal.auth} but ${missing.join(' and ')} ` +
        `${missing.length > 1 ? 'are' : 'is'} not set (pulumi config set --secret ${missing[0]} ...)`,
    );
  }
  const zones = c.zones ?? defaultZones(c.region);
  const gpuPools = c.gpuPools.map((pool): GpuPoolConfig => {
    const facts = gpuCatalogue[pool.gpuType];
    // The schema has checked that both exist.
    const machineType = pool.machineType ?? (facts.defaultMachine[pool.gpuCount] as string);
    return {
      ...pool,
      name: poolName(pool),
      machineType,
      shape: facts.machines[machineType] as MachineShape,
      zones: pool.zones ?? zones,
    };
  });
  const workerShutdownGraceSeconds = c.checkpointIntervalSeconds + c.checkpointWriteSeconds;
  return {
    ...c,
    zones,
    gpuPools,
    storage: {
      ...c.storage,
      datasetsBucket: c.storage.datasetsBucket ?? `${c.project}-${c.name}-datasets`,
      artifactsBucket: c.storage.artifactsBucket ?? `${c.project}-${c.name}-artifacts`,
    },
    temporalSecrets: secrets,
    workerShutdownGraceSeconds,
    terminationGracePeriodSeconds: workerShutdownGraceSeconds + 30,
  };
}

/** Reads the stack configuration. Call once, from index.ts. */
export function loadConfig(): InfraConfig {
  const cfg = new pulumi.Config();
  const gcp = new pulumi.Config('gcp');
  const raw = {
    project: gcp.require('project'),
    region: gcp.get('region'),
    zones: cfg.getObject('zones'),
    name: cfg.get('name'),
    namespace: cfg.get('namespace'),
    deletionProtection: cfg.getBoolean('deletionProtection'),
    checkpointIntervalSeconds: cfg.getNumber('checkpointIntervalSeconds'),
    checkpointWriteSeconds: cfg.getNumber('checkpointWriteSeconds'),
    network: cfg.getObject('network'),
    cpuPool: cfg.getObject('cpuPool'),
    gpuPools: cfg.getObject('gpuPools'),
    storage: cfg.getObject('storage'),
    // No default: the address of the Temporal frontend is the one thing every stack must say.
    temporal: cfg.requireObject('temporal'),
    images: cfg.getObject('images'),
    gpuWorker: cfg.getObject('gpuWorker'),
    cpuWorker: cfg.getObject('cpuWorker'),
    scaling: cfg.getObject('scaling'),
    kedaChartVersion: cfg.get('kedaChartVersion'),
  };
  return parseConfig(raw, {
    apiKey: cfg.getSecret('temporalApiKey'),
    tlsCert: cfg.getSecret('temporalTlsCert'),
    tlsKey: cfg.getSecret('temporalTlsKey'),
    tlsCa: cfg.getSecret('temporalTlsCa'),
  });
}
