/**
 * Where one meta-gradient's time goes, per kernel, on one backend (the PathMNIST IPC10 shape of
 * bench/meta-gradient.ts). After a warm-up it runs one meta-gradient of N steps under tf.profile and prints
 * the kernels sorted by total time, with their call counts, the wall time, the time outside kernels, and the
 * host read-backs (backend read/readSync calls).
 *
 * With --by-shape, kernels are grouped by name and output shape (which activation or vector they work on).
 *
 *   npx tsx bench/profile-meta.ts [--backend tensorflow] [--steps 2] [--top 25] [--by-shape]
 */
import { parseArgs } from 'node:util';
import { tf } from '../shared/engine/tf.ts';
import { initBackend, parseBackendChoice } from '../shared/engine/backends/index.ts';
import { metaGradient } from '../shared/method/matching/meta-gradient.ts';
import { disposeProblem, problemOf } from './lib/meta-problem.ts';

const { values: args } = parseArgs({
  options: {
    backend: { type: 'string', default: 'tensorflow' },
    steps: { type: 'string', default: '2' },
    top: { type: 'string', default: '25' },
    'by-shape': { type: 'boolean', default: false },
  },
});
const log = (m: string): void => console.error(m);

interface ReadCounts {
  read: number;
  readSync: number;
}

/** Counts the backend's read-backs to the host while `fn` runs. */
async function countReads(fn: () => Promise<void>): Promise<ReadCounts> {
  const backend = tf.backend() as unknown as Record<'read' | 'readSync', (...a: unknown[]) => unknown>;
  const counts: ReadCounts = { read: 0, readSync: 0 };
  const originals = { read: backend.read, readSync: backend.readSync };
  for (const key of ['read', 'readSync'] as const) {
    const original = originals[key];
    backend[key] = function (this: unknown, ...a: unknown[]) {
      counts[key]++;
      return original.apply(this, a);
    };
  }
  try {
    await fn();
  } finally {
    Object.assign(backend, originals);
  }
  return counts;
}

async function main(): Promise<void> {
  const info = await initBackend(parseBackendChoice(args.backend), log);
  const steps = Number(args.steps);
  const p = problemOf(steps);
  const once = async (): Promise<void> => {
    const result = await metaGradient(p.problem, p.terms);
    await result.gradImages.data();
    result.gradImages.dispose();
  };
  await once(); // warm-up
  const t0 = performance.now();
  await once();
  const wallMs = performance.now() - t0;
  const reads = await countReads(once);
  const profile = await tf.profile(once);
  disposeProblem(p);

  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of profile.kernels) {
    const key = args['by-shape'] ? `${k.name} [${k.outputShapes[0]?.join(',') ?? ''}]` : k.name;
    const entry = byKernel.get(key) ?? { ms: 0, calls: 0 };
    entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    entry.calls++;
    byKernel.set(key, entry);
  }
  const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const kernelMs = rows.reduce((sum, [, e]) => sum + e.ms, 0);
  const perStep = (ms: number): string => (ms / steps).toFixed(1);
  console.log(
    `${info.name}${info.adapter ? ` (${info.adapter})` : ''}: N=${steps}, ${perStep(wallMs)} ms per inner step (wall, unprofiled); ` +
      `kernels ${perStep(kernelMs)} ms per step in ${(profile.kernels.length / steps).toFixed(0)} kernel calls; ` +
      `outside kernels ${perStep(wallMs - kernelMs)} ms; read-backs per step: ${(reads.read / steps).toFixed(1)} async, ` +
      `${(reads.readSync / steps).toFixed(1)} sync`,
  );
  console.log(`${'kernel'.padEnd(40)} ms/step   calls/step   share`);
  for (const [name, e] of rows.slice(0, Number(args.top))) {
    console.log(
      `${name.padEnd(40)} ${perStep(e.ms).padStart(8)} ${(e.calls / steps).toFixed(0).padStart(12)} ${((100 * e.ms) / kernelMs).toFixed(1).padStart(6)}%`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
