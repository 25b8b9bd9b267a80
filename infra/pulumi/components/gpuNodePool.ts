// A GPU node pool that scales from zero: spot by default, autoscaled 0..N across its zones, GKE-managed driver
// installation, and a taint so that only pods that tolerate it (the GPU worker) land on its nodes.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { NODE_CLASS_LABEL, POOL_LABEL, hardenedNodeConfig } from '../cluster';
import type { GpuPoolConfig } from '../config';

/** The taint on every GPU node; GKE adds the same one itself, we state it so that it is checked. */
export const GPU_TAINT = { key: 'nvidia.com/gpu', value: 'present', effect: 'NO_SCHEDULE' } as const;

export interface GpuNodePoolArgs {
  project: string;
  location: string;
  cluster: pulumi.Input<string>;
  nodeServiceAccount: pulumi.Input<string>;
  pool: GpuPoolConfig;
}

export class GpuNodePool extends pulumi.ComponentResource {
  public readonly nodePool: gcp.container.NodePool;
  public readonly poolName: pulumi.Output<string>;
  /** Node labels the worker's node selector can use. */
  public readonly labels: Record<string, string>;

  constructor(name: string, args: GpuNodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
    super('hoptm:gke:GpuNodePool', name, {}, opts);
    const { pool } = args;
    this.labels = { [NODE_CLASS_LABEL]: 'gpu', [POOL_LABEL]: pool.name };
    this.nodePool = new gcp.container.NodePool(
      `${name}-pool`,
      {
        project: args.project,
        name: `gpu-${pool.name}`,
        cluster: args.cluster,
        location: args.location,
        nodeLocations: pool.zones,
        initialNodeCount: pool.minNodes,
        autoscaling: {
          totalMinNodeCount: pool.minNodes,
          totalMaxNodeCount: pool.maxNodes,
          // ANY: take capacity in whichever zone has it, which is what spot GPUs need.
          locationPolicy: 'ANY',
        },
        management: { autoRepair: true, autoUpgrade: true },
        nodeConfig: {
          ...hardenedNodeConfig(args.nodeServiceAccount),
          machineType: pool.machineType,
          diskSizeGb: pool.diskSizeGb,
          diskType: 'pd-balanced',
          spot: pool.spot,
          guestAccelerators: [
            {
              type: pool.gpuType,
              count: pool.gpuCount,
              gpuDriverInstallationConfig: { gpuDriverVersion: pool.driverVersion },
            },
          ],
          labels: this.labels,
          taints: [{ ...GPU_TAINT }],
        },
      },
      { parent: this },
    );
    this.poolName = this.nodePool.name;
    this.registerOutputs({ poolName: this.poolName });
  }
}
