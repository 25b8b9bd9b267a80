/**
 * Evaluation-epoch benchmark (issue 8, section 3). Times `trainNetwork` (the evaluation protocol, method.md F: a
 * fresh ConvNet trained on a synthetic set with SGD momentum 0.9, weight decay 5e-4, DSA on every minibatch) with
 * the pathmnist-ipc10 preset's evaluate config on a synthetic set of 90 images (IPC10 x 9 classes) at 32x32x3,
 * ConvNet width 128 depth 3. 90 images are one minibatch per epoch (batch_train 128 in the protocol; 256 would give
 * the same single batch). The lr is the preset's syn_lr initialisation (lrTeacher), which the learned lr starts
 * from. Each epoch is one repetition (the first a warm-up); the result extrapolates to one network's 1,001 epochs.
 * PyTorch does the same computation in the same invocation (scripts/reference/bench_training.py).
 * Writes bench/results/eval-epoch.json.
 *
 *   npm run bench:eval -- [--backends tensorflow,wasm] [--repeats 10] [--skip-pytorch]
 */
import { parseArgs } from 'node:util';
import { tf } from '../shared/engine/tf.ts';
import { convNetLayout } from '../shared/engine/convnet/layout.ts';
import { createRng } from '../shared/engine/random.ts';
import { runConfigSchema } from '../shared/config/schema.ts';
import { pathmnistIpc10 } from '../shared/config/presets/pathmnist.ts';
import { trainNetwork } from '../shared/method/evaluate/train-network.ts';
import { evalSchedule } from '../shared/method/evaluate/schedule.ts';
import { hasCudaGpu, machineInfo, sourceRevision, summarise } from './lib/machine.ts';
import { CFG, N_SYN } from './lib/meta-problem.ts';
import { runReference } from './lib/pytorch.ts';
import { requestedBackends, startBackend, writeResult } from './lib/backends.ts';

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string' },
    repeats: { type: 'string', default: '10' },
    'skip-pytorch': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/eval-epoch.json' },
  },
});
const log = (m: string): void => console.error(m);

async function main(): Promise<void> {
  const run = runConfigSchema.parse(pathmnistIpc10);
  if (run.model.width !== CFG.width || run.model.depth !== CFG.depth)
    throw new Error('bench: the pathmnist-ipc10 preset no longer has the benchmark model shape');
  const repeats = Number(args.repeats);
  const ev = run.evaluate;
  const lr = run.distill.lrTeacher;
  const fullEpochs = evalSchedule(ev.epochs).totalEpochs;
  const batchesPerEpoch = Math.ceil(N_SYN / ev.batchSize);
  const { names, excluded, explicit } = requestedBackends(args.backends, log);
  const unavailable: Record<string, string> = {};
  const ctx = { excluded, unavailable, explicit };
  const backends: Record<string, unknown>[] = [];

  for (const name of names) {
    const info = await startBackend(name, ctx, log);
    if (info === null) continue;
    log(`bench: ${name}: ${repeats + 1} evaluation epochs on ${N_SYN} images (the first a warm-up)`);
    const rng = createRng(2);
    const s = CFG.imageSize;
    const train = {
      images: tf.tensor4d(
        Float32Array.from({ length: N_SYN * s * s * CFG.channels }, () => 2 * rng.next() - 1),
        [N_SYN, s, s, CFG.channels],
      ),
      labels: tf.tensor1d(
        Array.from({ length: N_SYN }, (_, i) => Math.floor(i / (N_SYN / CFG.numClasses))),
        'int32',
      ),
    };
    // epochs = repeats: trainNetwork runs epochs + 1, i.e. the warm-up plus `repeats` timed epochs. The decay after
    // epoch repeats // 2 + 1 only changes the lr value, not the work.
    const epochMs: number[] = [];
    let last = performance.now();
    await trainNetwork(
      train,
      {
        cfg: CFG,
        lr,
        epochs: repeats,
        batchSize: ev.batchSize,
        momentum: ev.momentum,
        weightDecay: ev.weightDecay,
        dsa: ev.dsa,
        seed: 0,
      },
      {
        // Called after the epoch's loss is read back, so the work is complete on every backend.
        onEpoch: (epoch) => {
          const now = performance.now();
          epochMs.push(now - last);
          log(`  ${epoch === 0 ? 'warm-up' : `repeat ${epoch}`}: ${(now - last).toFixed(0)} ms`);
          last = now;
        },
      },
    );
    tf.dispose([train.images, train.labels]);
    const t = summarise(epochMs);
    backends.push({
      backend: name,
      adapter: info.adapter ?? null,
      threads: info.threads ?? null,
      msPerEpoch: t,
      extrapolatedNetworkSeconds: (t.mean * fullEpochs) / 1000,
    });
  }

  let pytorch: Record<string, unknown> | null = null;
  if (!args['skip-pytorch']) {
    const device = hasCudaGpu() ? 'cuda' : 'cpu';
    log(`bench: PyTorch reference on ${device}`);
    pytorch = runReference(
      'scripts/reference/bench_training.py',
      [
        '--mode',
        'eval',
        '--n-images',
        String(N_SYN),
        '--batch',
        String(ev.batchSize),
        '--repeats',
        String(repeats),
        '--lr',
        String(lr),
        '--momentum',
        String(ev.momentum),
        '--weight-decay',
        String(ev.weightDecay),
        '--device',
        device,
      ],
      log,
    );
    const torchEpoch = (pytorch.msPerEpoch as { mean: number }).mean;
    pytorch.extrapolatedNetworkSeconds = (torchEpoch * fullEpochs) / 1000;
  }
  const torchMs = (pytorch?.msPerEpoch as { mean: number } | undefined)?.mean ?? null;
  for (const b of backends)
    b.ratioToPyTorch = torchMs === null ? null : (b.msPerEpoch as { mean: number }).mean / torchMs;

  const result = {
    benchmark: 'eval-epoch',
    date: new Date().toISOString(),
    source: sourceRevision(),
    machine: machineInfo(),
    shape: {
      ...CFG,
      params: convNetLayout(CFG).size,
      preset: 'pathmnist-ipc10 (evaluate)',
      images: N_SYN,
      batchSize: ev.batchSize,
      batchesPerEpoch,
      lr,
      lrNote:
        'the preset syn_lr initialisation (distill.lrTeacher); a distilled set is evaluated at its learned lr',
      momentum: ev.momentum,
      weightDecay: ev.weightDecay,
      dsa: ev.dsa,
    },
    fullNetwork: {
      epochs: fullEpochs,
      networksPerEvaluation: ev.runs,
      note: 'extrapolatedNetworkSeconds = mean ms per epoch x the protocol epochs (epochs + 1); an evaluation trains evaluate.runs networks',
    },
    backends,
    excluded,
    unavailable,
    pytorch,
  };
  writeResult(args.out, result, log);
  console.log(
    JSON.stringify(
      {
        backends: backends.map((b) => ({
          backend: b.backend,
          msPerEpoch: (b.msPerEpoch as { mean: number }).mean,
          extrapolatedNetworkSeconds: b.extrapolatedNetworkSeconds,
          ratioToPyTorch: b.ratioToPyTorch,
        })),
        pytorchMsPerEpoch: torchMs,
        loadAverage: result.machine.loadAverage,
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
