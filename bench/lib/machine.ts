import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

/** Where a benchmark ran: reported with every figure. */
export function machineInfo(): Record<string, unknown> {
  let gpu: string | null = null;
  try {
    gpu = execFileSync('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    gpu = null;
  }
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    gpu,
    // Other jobs share the build machines: the 1, 5 and 15-minute load averages when the figures were written.
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** The commit the figures came from, and whether the working tree had changes on top of it. */
export function sourceRevision(): { commit: string | null; dirty: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !==
      '';
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: false };
  }
}

export const hasCudaGpu = (): boolean => machineInfo().gpu !== null;

/** Summary of repeated timings: the first on its own, then mean/min/max of the rest (style.md 11). */
/** The median (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarise(times: number[]): {
  first: number;
  mean: number;
  min: number;
  max: number;
  all: number[];
} {
  const rest = times.length > 1 ? times.slice(1) : times;
  return {
    first: times[0]!,
    mean: rest.reduce((a, b) => a + b, 0) / rest.length,
    min: Math.min(...rest),
    max: Math.max(...rest),
    all: times,
  };
}
