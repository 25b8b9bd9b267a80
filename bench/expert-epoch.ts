/**
 * Expert-epoch benchmark (issue 8, section 3). Times `trainExpert` (GSAM around SGD, DSA on every batch: the
 * public entry point with the pathmnist-ipc10 preset's experts config) at the reference shape: ConvNet width 128
 * depth 3, 32x32x3, 9 classes, batch 256. One real PathMNIST epoch is 89,996 images (352 batches, the last one
 * partial); one of those takes ~45 minutes on a loaded 2-core machine (tensorflow), so each timed "epoch" here is
 * a reduced one of --batches full batches of random images. The result reports ms per batch and extrapolates it to
 * the full epoch. PyTorch does the same computation in the same invocation (scripts/reference/bench_training.py).
 * Writes bench/results/expert-epoch.json.
 *
 *   npm run bench:expert -- [--backends tensorflow,wasm] [--batches 2] [--repeats 2] [--skip-pytorch]
 */
import { parseArgs } from 'node:util';
import { tf } from '../shared/engine/tf.ts';
import { convNetLayout } from '../shared/engine/convnet/layout.ts';
import { createRng } from '../shared/engine/random.ts';
import { runConfigSchema } from '../shared/config/schema.ts';
import { pathmnistIpc10 } from '../shared/config/presets/pathmnist.ts';
import { createMemoryStore } from '../shared/storage/index.ts';
import { trainExpert } from '../shared/method/experts/train-expert.ts';
import { hasCudaGpu, machineInfo, sourceRevision, summarise } from './lib/machine.ts';
import { CFG } from './lib/meta-problem.ts';
import { runReference } from './lib/pytorch.ts';
import { requestedBackends, startBackend, writeResult } from './lib/backends.ts';

/** PathMNIST's training split (method.md E). */
export const PATHMNIST_TRAIN_IMAGES = 89_996;

const { values: args } = parseArgs({
  options: {
    backends: { type: 'string' },
    batches: { type: 'string', default: '2' },
    repeats: { type: 'string', default: '2' },
    'skip-pytorch': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/expert-epoch.json' },
  },
});
const log = (m: string): void => console.error(m);

async function main(): Promise<void> {
  const run = runConfigSchema.parse(pathmnistIpc10);
  if (run.model.width !== CFG.width || run.model.depth !== CFG.depth)
    throw new Error('bench: the pathmnist-ipc10 preset no longer has the benchmark model shape');
  const batches = Number(args.batches);
  const repeats = Number(args.repeats);
  const batchSize = run.experts.batchSize;
  const fullBatches = Math.ceil(PATHMNIST_TRAIN_IMAGES / batchSize);
  // lastEpoch = repeats + 1 epochs in one call: the first is the warm-up.
  const experts = { ...run.experts, epochs: repeats + 1 };
  const n = batches * batchSize;
  const { names, excluded, explicit } = requestedBackends(args.backends, log);
  const unavailable: Record<string, string> = {};
  const ctx = { excluded, unavailable, explicit };
  const backends: Record<string, unknown>[] = [];

  for (const name of names) {
    const info = await startBackend(name, ctx, log);
    if (info === null) continue;
    log(
      `bench: ${name}: ${repeats + 1} expert epochs of ${batches} batches of ${batchSize} (the first a warm-up)`,
    );
    const rng = createRng(1);
    const s = CFG.imageSize;
    const train = {
      images: tf.tensor4d(
        Float32Array.from({ length: n * s * s * CFG.channels }, () => 2 * rng.next() - 1),
        [n, s, s, CFG.channels],
      ),
      labels: tf.tensor1d(
        Array.from({ length: n }, (_, i) => i % CFG.numClasses),
        'int32',
      ),
    };
    const epochMs: number[] = [];
    await trainExpert(
      { runId: `bench-${name}`, expert: 0, cfg: CFG, experts, lastEpoch: repeats + 1, train },
      { store: createMemoryStore() },
      {
        // info.seconds: the epoch's steps and the read-back of its loss and parameters (snapshot writes excluded).
        onEpoch: (epoch, e) => {
          epochMs.push(e.seconds * 1000);
          log(
            `  ${epoch === 1 ? 'warm-up' : `repeat ${epoch - 1}`}: ${(e.seconds * 1000).toFixed(0)} ms (${((e.seconds * 1000) / batches).toFixed(0)} ms per batch)`,
          );
        },
      },
    );
    tf.dispose([train.images, train.labels]);
    const t = summarise(epochMs);
    const msPerBatch = t.mean / batches;
    backends.push({
      backend: name,
      adapter: info.adapter ?? null,
      threads: info.threads ?? null,
      msPerReducedEpoch: t,
      msPerBatch,
      extrapolatedEpochSeconds: (msPerBatch * fullBatches) / 1000,
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
        'expert',
        '--batch',
        String(batchSize),
        '--batches',
        String(batches),
        '--repeats',
        String(repeats),
        '--lr',
        String(run.experts.lr),
        '--rho',
        String(run.experts.gsam!.rho),
        '--alpha',
        String(run.experts.gsam!.alpha),
        '--device',
        device,
      ],
      log,
    );
    pytorch.extrapolatedEpochSeconds = ((pytorch.msPerBatch as number) * fullBatches) / 1000;
  }
  const torchMs = (pytorch?.msPerBatch as number | undefined) ?? null;
  for (const b of backends) b.ratioToPyTorch = torchMs === null ? null : (b.msPerBatch as number) / torchMs;

  const result = {
    benchmark: 'expert-epoch',
    date: new Date().toISOString(),
    source: sourceRevision(),
    machine: machineInfo(),
    shape: {
      ...CFG,
      params: convNetLayout(CFG).size,
      preset: 'pathmnist-ipc10 (experts)',
      batchSize,
      gsam: run.experts.gsam,
      dsa: run.experts.dsa,
      lr: run.experts.lr,
    },
    reducedEpoch: {
      batches,
      images: n,
      note: `each timed epoch is ${batches} full batches of random images, not PathMNIST's ${PATHMNIST_TRAIN_IMAGES} training images (${fullBatches} batches, the last of ${PATHMNIST_TRAIN_IMAGES - (fullBatches - 1) * batchSize}); extrapolatedEpochSeconds = msPerBatch x ${fullBatches}, which counts the partial batch as a full one`,
    },
    fullEpoch: { images: PATHMNIST_TRAIN_IMAGES, batches: fullBatches },
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
          msPerBatch: b.msPerBatch,
          extrapolatedEpochSeconds: b.extrapolatedEpochSeconds,
          ratioToPyTorch: b.ratioToPyTorch,
        })),
        pytorchMsPerBatch: torchMs,
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
