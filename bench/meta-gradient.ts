/**
 * Meta-gradient benchmark (issue: engine). For the PathMNIST IPC10 shape (ConvNet width 128 depth 3,
 * 32x32x3, batch 10 of 90 synthetic images, 9 classes, P = 317,961) it times one distillation
 * iteration's exact meta-gradient (unroll + step-wise backward) on every available backend, measures peak
 * tensor memory at N = 10 and N = 80, runs the PyTorch reference on the same shapes in the same invocation
 * (CUDA when a GPU is present, else CPU), and writes bench/results/meta-gradient.json.
 *
 * The cpu backend, and webgpu on a software rasteriser, are left out unless named in --backends
 * (bench/lib/backends.ts says why).
 *
 *   npm run bench:meta -- [--backends wasm,webgpu,cpu] [--steps 10] [--cpu-steps 1] [--repeats 2]
 *                         [--rounds 3] [--memory-steps 10,80] [--skip-memory] [--skip-pytorch]
 *
 * A backend's figure is the median of its timed repeats, as the reference's is. --rounds R repeats the whole
 * comparison (every backend, then PyTorch) R times and takes each ratio as the median of the R rounds'
 * ratios: on a machine whose CPU time is stolen by neighbours for minutes at a time, a ratio from one
 * round can be off by a third either way.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { convNetLayout } from '../shared/engine/convnet/layout.ts';
import { metaGradient } from '../shared/method/matching/meta-gradient.ts';
import { hasCudaGpu, machineInfo, median, sourceRevision, summarise } from './lib/machine.ts';
import { initBackend, type BackendName } from '../shared/engine/backends/index.ts';
import { BATCH, CFG, FULL_STEPS, N_SYN, disposeProblem, problemOf } from './lib/meta-problem.ts';
import { peakTensorBytes } from './lib/peak-memory.ts';
import { runReference } from './lib/pytorch.ts';
import { requestedBackends, startBackend } from './lib/backends.ts';

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string' },
    steps: { type: 'string', default: '10' },
    'cpu-steps': { type: 'string', default: '1' },
    repeats: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    'memory-steps': { type: 'string', default: '10,80' },
    'skip-memory': { type: 'boolean', default: false },
    'skip-pytorch': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/meta-gradient.json' },
  },
});
const log = (m: string): void => console.error(m);

/** Times full meta-gradients (the result is read back, so GPU work is inside the timing). */
async function timeBackend(steps: number, repeats: number): Promise<number[]> {
  const p = problemOf(steps);
  const times: number[] = [];
  for (let r = 0; r < repeats + 1; r++) {
    const t0 = performance.now();
    const result = await metaGradient(p.problem, p.terms);
    await result.gradImages.data();
    result.gradImages.dispose();
    times.push(performance.now() - t0);
    log(`  ${r === 0 ? 'warm-up' : `repeat ${r}`}: ${(times.at(-1)! / steps).toFixed(1)} ms per inner step`);
  }
  disposeProblem(p);
  return times;
}

/** Peak tensor bytes above what was allocated before the meta-gradient started (the problem's own tensors). */
async function peakBytes(steps: number): Promise<number> {
  const p = problemOf(steps);
  const { peakBytes: peak, startBytes } = await peakTensorBytes(async () => {
    const result = await metaGradient(p.problem, p.terms);
    await result.gradImages.data();
    result.gradImages.dispose();
  });
  disposeProblem(p);
  return peak - startBytes;
}

async function main(): Promise<void> {
  const { names: requested, excluded, explicit } = requestedBackends(args.backends, log);
  const P = convNetLayout(CFG).size;
  const backends: Record<string, unknown>[] = [];
  const unavailable: Record<string, string> = {};
  let memory: Record<string, unknown> | null = null;

  for (const name of requested) {
    const info = await startBackend(name, { excluded, unavailable, explicit }, log);
    if (info === null) continue;
    const steps = Number(name === 'cpu' ? args['cpu-steps'] : args.steps);
    const repeats = name === 'cpu' ? 1 : Number(args.repeats);
    log(
      `bench: ${name}${info.adapter ? ` (${info.adapter})` : ''}: ${repeats} timed meta-gradient(s) of N=${steps}`,
    );
    const t = summarise(await timeBackend(steps, repeats));
    const msPerInnerStep = median(t.all.slice(1)) / steps;
    backends.push({
      backend: name,
      adapter: info.adapter ?? null,
      threads: info.threads ?? null,
      steps,
      msPerIterationMeasured: t,
      msPerInnerStep,
      msPer80StepIteration: msPerInnerStep * FULL_STEPS,
    });
    if (memory === null && !args['skip-memory'] && name !== 'cpu') {
      const [small, large] = args['memory-steps'].split(',').map(Number) as [number, number];
      log(`bench: peak tensor memory on ${name} at N=${small} and N=${large}`);
      const a = await peakBytes(small);
      const b = await peakBytes(large);
      const vectors = (large - small) * P * 4;
      memory = {
        backend: name,
        [`peakBytesN${small}`]: a,
        [`peakBytesN${large}`]: b,
        growthBytes: b - a,
        storedVectorBytes: vectors,
        growthBeyondStoredVectors: b - a - vectors,
        note: 'peak tensor bytes above the inputs during one meta-gradient; the growth should be one float32 parameter vector per extra unrolled step',
      };
      log(
        `  N=${small}: ${(a / 2 ** 20).toFixed(1)} MiB, N=${large}: ${(b / 2 ** 20).toFixed(1)} MiB, beyond stored vectors: ${((b - a - vectors) / 2 ** 20).toFixed(2)} MiB`,
      );
    }
  }

  const runPyTorch = (): Record<string, unknown> | null => {
    if (args['skip-pytorch']) return null;
    const device = hasCudaGpu() ? 'cuda' : 'cpu';
    log(`bench: PyTorch reference on ${device}`);
    return runReference(
      'scripts/reference/bench_meta_gradient.py',
      [
        ...['--width', '128', '--depth', '3', '--image-size', '32', '--channels', '3', '--classes', '9'],
        ...['--batch', String(BATCH), '--n-syn', String(N_SYN), '--steps', String(args.steps)],
        ...['--device', device, '--repeats', '3'],
      ],
      log,
    );
  };
  const pytorch = runPyTorch();
  const torchMs = (pytorch?.msPerInnerStep as number | undefined) ?? null;
  // Round 1 above; each further round times every backend and PyTorch again, in the same order.
  const rounds: { pytorchMsPerInnerStep: number | null; backends: Record<string, number> }[] = [
    {
      pytorchMsPerInnerStep: torchMs,
      backends: Object.fromEntries(backends.map((b) => [b.backend, b.msPerInnerStep as number])),
    },
  ];
  for (let round = 2; round <= Number(args.rounds); round++) {
    log(`bench: round ${round} of ${args.rounds}`);
    const times: Record<string, number> = {};
    for (const b of backends) {
      await initBackend(b.backend as BackendName, () => {});
      const steps = b.steps as number;
      times[b.backend as string] = median((await timeBackend(steps, Number(args.repeats))).slice(1)) / steps;
    }
    const again = runPyTorch();
    rounds.push({
      pytorchMsPerInnerStep: (again?.msPerInnerStep as number | undefined) ?? null,
      backends: times,
    });
  }
  for (const b of backends) {
    const name = b.backend as string;
    const ratios = rounds.flatMap((r) =>
      r.pytorchMsPerInnerStep === null ? [] : [r.backends[name]! / r.pytorchMsPerInnerStep],
    );
    b.ratioToPyTorch = ratios.length === 0 ? null : median(ratios);
    if (rounds.length > 1) b.msPerInnerStepByRound = rounds.map((r) => r.backends[name]);
  }

  const result = {
    benchmark: 'meta-gradient',
    date: new Date().toISOString(),
    source: sourceRevision(),
    machine: machineInfo(),
    shape: {
      ...CFG,
      params: P,
      nSyn: N_SYN,
      batchSyn: BATCH,
      dsa: 'one family per step',
      shapeTerm: true,
      maskFraction: 0.5,
    },
    backends,
    excluded,
    unavailable,
    memory,
    pytorch,
    rounds: rounds.length > 1 ? rounds : undefined,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    JSON.stringify(
      {
        backends: backends.map((b) => ({
          backend: b.backend,
          msPerInnerStep: b.msPerInnerStep,
          ratioToPyTorch: b.ratioToPyTorch,
        })),
        pytorchMsPerInnerStep: torchMs,
        ...(rounds.length > 1 ? { rounds } : {}),
        memory,
      },
      null,
      2,
    ),
  );
  log(`bench: wrote ${args.out}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
