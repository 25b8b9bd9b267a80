// Facts about the GPUs this program can put in a node pool: which machine types carry them, how many GPUs each
// machine type takes, and how much CPU and memory a worker pod can be given on it. Pure data and pure helpers:
// the config schema validates against them, and the node pool and the worker deployment are sized from them.

export const gpuTypes = ['nvidia-l4', 'nvidia-tesla-t4', 'nvidia-tesla-a100'] as const;
export type GpuType = (typeof gpuTypes)[number];

export interface MachineShape {
  vcpus: number;
  memoryGiB: number;
  /** GPUs the machine type comes with; `undefined` for N1, where 1, 2 or 4 T4s are attached. */
  fixedGpus?: number;
}

export interface GpuFacts {
  /** The machine types that can carry this GPU. */
  machines: Record<string, MachineShape>;
  /** GPU counts a node may have. */
  counts: readonly number[];
  /** The machine type used when the pool names none, by GPU count. */
  defaultMachine: Record<number, string>;
  /** CUDA compute capability: tfjs-node-gpu 4.22 (TF 2.9, CUDA 11.2) has native kernels up to 8.0. */
  computeCapability: string;
}

export const gpuCatalogue: Record<GpuType, GpuFacts> = {
  // G2: the cheapest current GPU with good spot capacity. Ada (8.9): WebGPU runs natively; the tensorflow
  // backend runs through PTX JIT of compute_80 (slow first start), see docs/adr-infra.md.
  'nvidia-l4': {
    machines: {
      'g2-standard-4': { vcpus: 4, memoryGiB: 16, fixedGpus: 1 },
      'g2-standard-8': { vcpus: 8, memoryGiB: 32, fixedGpus: 1 },
      'g2-standard-12': { vcpus: 12, memoryGiB: 48, fixedGpus: 1 },
      'g2-standard-16': { vcpus: 16, memoryGiB: 64, fixedGpus: 1 },
      'g2-standard-24': { vcpus: 24, memoryGiB: 96, fixedGpus: 2 },
      'g2-standard-32': { vcpus: 32, memoryGiB: 128, fixedGpus: 1 },
      'g2-standard-48': { vcpus: 48, memoryGiB: 192, fixedGpus: 4 },
      'g2-standard-96': { vcpus: 96, memoryGiB: 384, fixedGpus: 8 },
    },
    counts: [1, 2, 4, 8],
    defaultMachine: { 1: 'g2-standard-8', 2: 'g2-standard-24', 4: 'g2-standard-48', 8: 'g2-standard-96' },
    computeCapability: '8.9',
  },
  // N1 + attached T4 (Turing, 7.5): native for both the WebGPU and the tensorflow (CUDA 11.2) backends.
  'nvidia-tesla-t4': {
    machines: {
      'n1-standard-4': { vcpus: 4, memoryGiB: 15 },
      'n1-standard-8': { vcpus: 8, memoryGiB: 30 },
      'n1-standard-16': { vcpus: 16, memoryGiB: 60 },
      'n1-standard-32': { vcpus: 32, memoryGiB: 120 },
      'n1-highmem-8': { vcpus: 8, memoryGiB: 52 },
      'n1-highmem-16': { vcpus: 16, memoryGiB: 104 },
    },
    counts: [1, 2, 4],
    defaultMachine: { 1: 'n1-standard-8', 2: 'n1-standard-16', 4: 'n1-standard-32' },
    computeCapability: '7.5',
  },
  // A2 (A100 40 GB, Ampere 8.0): the largest distillations; native for both backends.
  'nvidia-tesla-a100': {
    machines: {
      'a2-highgpu-1g': { vcpus: 12, memoryGiB: 85, fixedGpus: 1 },
      'a2-highgpu-2g': { vcpus: 24, memoryGiB: 170, fixedGpus: 2 },
      'a2-highgpu-4g': { vcpus: 48, memoryGiB: 340, fixedGpus: 4 },
      'a2-highgpu-8g': { vcpus: 96, memoryGiB: 680, fixedGpus: 8 },
    },
    counts: [1, 2, 4, 8],
    defaultMachine: { 1: 'a2-highgpu-1g', 2: 'a2-highgpu-2g', 4: 'a2-highgpu-4g', 8: 'a2-highgpu-8g' },
    computeCapability: '8.0',
  },
};

/**
 * What a pod can request on a node of this shape, after GKE's system reservations and its daemonsets
 * (logging, metrics, the GPU device plugin). Conservative: GKE reserves 6% of the first core, 1% of the
 * second, 0.5% of the next two and 0.25% of the rest, plus roughly 25% of memory on small machines and
 * less on large ones; we keep 0.5 vCPU and max(2 GiB, 12%) of memory for both.
 */
export function allocatable(shape: MachineShape): { vcpus: number; memoryGiB: number } {
  return {
    vcpus: shape.vcpus - 0.5,
    memoryGiB: shape.memoryGiB - Math.max(2, shape.memoryGiB * 0.12),
  };
}

/** How many worker pods of the given size fit on one node. */
export function podsPerNode(
  shape: MachineShape,
  gpusPerNode: number,
  pod: { cpu: number; memoryGiB: number; gpus: number },
): number {
  const room = allocatable(shape);
  return Math.min(
    Math.floor(gpusPerNode / pod.gpus),
    Math.floor(room.vcpus / pod.cpu),
    Math.floor(room.memoryGiB / pod.memoryGiB),
  );
}
