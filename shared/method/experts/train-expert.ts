/**
 * Trains one expert (teacher) trajectory (method.md B) and stores it epoch by epoch (docs/experts.md).
 *
 * Resume is the normal path: every call first looks for the expert's done marker (then returns at once) and its
 * resume state (then continues after the state's epoch); only when neither exists does it initialise. After each
 * epoch it creates the epoch's immutable snapshot, then overwrites the state, so a call that dies anywhere
 * (abort, crash, thrown error) and is called again continues bit-identically on a deterministic backend: the
 * state holds the float32 parameters and the generator state at an epoch boundary, and the unfinished epoch is
 * redone from there with the same draws.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { tf } from '../../engine/tf.ts';
import type { Scalar, Tensor1D, Tensor4D } from '../../engine/tf.ts';
import { convNetLayout, type ConvNetConfig } from '../../engine/convnet/layout.ts';
import { initConvNetParams } from '../../engine/convnet/init.ts';
import { applyAugDraw } from '../../engine/dsa/apply.ts';
import { sampleAugDraw } from '../../engine/dsa/draws.ts';
import { createRng, deriveSeed } from '../../engine/random.ts';
import type { ExpertsConfig } from '../../config/experts.ts';
import { sampledExpertEpochs, type RunConfig } from '../../config/schema.ts';
import { ArtifactExistsError, ArtifactFormatError } from '../../storage/errors.ts';
import { getJson, putJson } from '../../storage/json.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import { epochBatches } from '../batches.ts';
import { expertStep } from './gsam.ts';
import {
  COMPLETE_FORMAT,
  FORMAT_VERSION,
  decodeSnapshot,
  decodeState,
  encodeSnapshot,
  encodeState,
  expertManifestSchema,
  expertRecipe,
  recipeDigest,
  type EpochRecord,
  type ExpertManifest,
  type ExpertState,
} from './format.ts';
import { completeKey, MAX_EPOCH, snapshotKey, stateKey } from './keys.ts';

export interface TrainExpertArgs {
  /** The run's key prefix (key rules of shared/storage/keys.ts). */
  runId: string;
  /** Expert index k >= 0; the expert's seed is deriveSeed(experts.seed, 'expert', k). */
  expert: number;
  cfg: ConvNetConfig;
  experts: ExpertsConfig;
  /** Epochs to train, 1..experts.epochs: experts.epochs, or sampledExpertEpochs(run) for keepEpochs 'sampled' (see expertLastEpoch). */
  lastEpoch: number;
  /** The (normalised, unaugmented) training set: NHWC float32 images and integer labels. */
  train: { images: Tensor4D; labels: Tensor1D };
  /** The training data's content hash, if known (e.g. the dataset manifest's contentHash); part of the config digest. */
  dataDigest?: string;
}

export interface TrainExpertDeps {
  store: ArtifactStore;
}

/**
 * What happened to an epoch's snapshot: `created`; `existing-identical` (a retried call found the same bytes);
 * `existing-adopted` (float32, same recipe, different values, e.g. a non-deterministic backend: the stored
 * snapshot stands and training continues from it, so the stored trajectory stays self-consistent);
 * `existing-kept` (the same for float16, where the stored values cannot restore float32 parameters: the stored
 * snapshot stands and training continues from this call's own parameters).
 */
export type SnapshotOutcome = 'created' | 'existing-identical' | 'existing-adopted' | 'existing-kept';

export interface EpochInfo extends EpochRecord {
  lastEpoch: number;
  /** Wall time of the epoch's training steps, in seconds. */
  seconds: number;
  snapshotKey: string;
  snapshot: SnapshotOutcome;
}

export interface TrainExpertHooks {
  /** After epoch e's snapshot and state are stored. A throw stops training; calling again resumes after e. */
  onEpoch?(epoch: number, info: EpochInfo): void | Promise<void>;
  /** After each minibatch step (for heartbeats). */
  onBatch?(epoch: number, batch: number, batches: number): void | Promise<void>;
  /** Checked before every minibatch; an abort throws `signal.reason` and loses at most the unfinished epoch. */
  signal?: AbortSignal;
}

export interface TrainExpertResult {
  expert: number;
  /** True when the done marker already covered lastEpoch and nothing was trained. */
  alreadyComplete: boolean;
  /** The epoch of the state this call resumed from; null when it initialised the expert. */
  resumedFrom: number | null;
  /** Epochs this call trained. */
  trainedEpochs: number;
  manifest: ExpertManifest;
}

/** The epochs an expert must train for a run: all of them, or only those distillation can sample. */
export function expertLastEpoch(run: RunConfig): number {
  return run.experts.keepEpochs === 'sampled' ? sampledExpertEpochs(run) : run.experts.epochs;
}

export async function trainExpert(
  args: TrainExpertArgs,
  deps: TrainExpertDeps,
  hooks: TrainExpertHooks = {},
): Promise<TrainExpertResult> {
  const { runId, expert: k, cfg, experts, lastEpoch, train } = args;
  const { store } = deps;
  const P = convNetLayout(cfg).size;
  const n = await validateArgs(args);
  const recipe = expertRecipe(cfg, experts, n, args.dataDigest ?? null);
  const digest = recipeDigest(recipe);
  const keys = { complete: completeKey(runId, k), state: stateKey(runId, k) };
  const where = `expert ${k} of run ${JSON.stringify(runId)}`;
  hooks.signal?.throwIfAborted();

  const manifestFor = (history: EpochRecord[]): ExpertManifest => ({
    format: COMPLETE_FORMAT,
    version: FORMAT_VERSION,
    runId,
    expert: k,
    lastEpoch,
    parameters: P,
    dtype: experts.snapshotDtype,
    configDigest: digest,
    recipe,
    history: history.filter((r) => r.epoch <= lastEpoch),
  });

  if (await store.exists(keys.complete)) {
    const done = await getJson(store, keys.complete, expertManifestSchema);
    if (done.configDigest !== digest)
      throw recipeMismatch(keys.complete, store.location, where, digest, done.configDigest);
    if (done.lastEpoch >= lastEpoch) {
      return { expert: k, alreadyComplete: true, resumedFrom: null, trainedEpochs: 0, manifest: done };
    }
    // Asked for more epochs than the marker covers: continue from the state, which is kept for this.
  }

  /** Creates epoch e's snapshot; on a create-only conflict, verifies the stored one (see SnapshotOutcome). */
  const commitSnapshot = async (
    epoch: number,
    params: Float32Array,
  ): Promise<{ outcome: SnapshotOutcome; params: Float32Array }> => {
    const key = snapshotKey(runId, k, epoch);
    const meta = {
      runId,
      expert: k,
      epoch,
      parameters: P,
      dtype: experts.snapshotDtype,
      configDigest: digest,
    };
    const bytes = encodeSnapshot(params, meta);
    try {
      await store.create(key, bytes);
      return { outcome: 'created', params };
    } catch (err) {
      if (!(err instanceof ArtifactExistsError)) throw err;
    }
    const existing = await store.get(key);
    if (bytesEqual(existing, bytes)) return { outcome: 'existing-identical', params };
    const found = decodeSnapshot(existing, key, store.location);
    const expected = JSON.stringify(meta);
    const actual = JSON.stringify(found.meta);
    if (expected !== actual) {
      throw new ArtifactFormatError(
        key,
        store.location,
        `the snapshot this call would write (${expected})`,
        `a snapshot of something else (${actual}); delete the expert's objects or use another runId`,
      );
    }
    assertFinite(found.params, `stored snapshot ${JSON.stringify(key)}`);
    return experts.snapshotDtype === 'float32'
      ? { outcome: 'existing-adopted', params: found.params }
      : { outcome: 'existing-kept', params };
  };

  let state: ExpertState;
  let resumedFrom: number | null = null;
  if (await store.exists(keys.state)) {
    state = decodeState(await store.get(keys.state), keys.state, store.location);
    if (state.configDigest !== digest)
      throw recipeMismatch(keys.state, store.location, where, digest, state.configDigest);
    if (state.runId !== runId || state.expert !== k || state.params.length !== P) {
      throw new ArtifactFormatError(
        keys.state,
        store.location,
        `the state of ${where} with ${P} parameters`,
        `run ${JSON.stringify(state.runId)} expert ${state.expert} with ${state.params.length} parameters`,
      );
    }
    assertFinite(state.params, `resume state ${JSON.stringify(keys.state)}`);
    resumedFrom = state.epoch;
    // The state is written after its snapshot, so this only repairs a snapshot deleted by hand (exactly, from float32).
    if (!(await store.exists(snapshotKey(runId, k, state.epoch))))
      await commitSnapshot(state.epoch, state.params);
  } else {
    const rng = createRng(deriveSeed(experts.seed, 'expert', k));
    const init = initConvNetParams(cfg, rng);
    const { params } = await commitSnapshot(0, init);
    state = { runId, expert: k, epoch: 0, configDigest: digest, params, rng: rng.state(), history: [] };
    await store.put(keys.state, encodeState(state));
  }

  const rng = createRng(state.rng);
  const [, height, width] = train.images.shape;
  const step = { lr: experts.lr, gsam: experts.gsam };
  let trainedEpochs = 0;
  let theta: Tensor1D = tf.tensor1d(state.params);
  try {
    for (let epoch = state.epoch + 1; epoch <= lastEpoch; epoch++) {
      const started = performance.now();
      const batches = epochBatches(n, experts.batchSize, rng);
      let lossSum: Scalar = tf.scalar(0);
      let correctSum: Scalar = tf.scalar(0);
      try {
        for (let b = 0; b < batches.length; b++) {
          await yieldToEventLoop();
          hooks.signal?.throwIfAborted();
          const indices = batches[b]!;
          const draw = experts.dsa ? sampleAugDraw(rng, indices.length, height, width) : null;
          const next = tf.tidy(() => {
            const idx = tf.tensor1d(indices, 'int32');
            const gathered = tf.gather(train.images, idx) as Tensor4D;
            const images = draw === null ? gathered : applyAugDraw(gathered, draw);
            const labels = tf.gather(train.labels, idx) as Tensor1D;
            const r = expertStep(theta, { images, labels }, cfg, step);
            return {
              params: r.params,
              loss: tf.add(lossSum, tf.mul(r.loss, indices.length)) as Scalar,
              correct: tf.add(correctSum, r.correct) as Scalar,
            };
          });
          tf.dispose([theta, lossSum, correctSum]);
          ({ params: theta, loss: lossSum, correct: correctSum } = next);
          await hooks.onBatch?.(epoch, b, batches.length);
        }
        const record: EpochRecord = {
          epoch,
          loss: (await lossSum.data())[0]! / n,
          accuracy: (await correctSum.data())[0]! / n,
        };
        const seconds = (performance.now() - started) / 1000;
        const trained = Float32Array.from(await theta.data());
        assertFinite(trained, `${where} after epoch ${epoch} (training loss ${record.loss})`);
        const { outcome, params } = await commitSnapshot(epoch, trained);
        if (params !== trained) {
          theta.dispose();
          theta = tf.tensor1d(params);
        }
        state = { ...state, epoch, params, rng: rng.state(), history: [...state.history, record] };
        await store.put(keys.state, encodeState(state));
        trainedEpochs++;
        await hooks.onEpoch?.(epoch, {
          ...record,
          lastEpoch,
          seconds,
          snapshotKey: snapshotKey(runId, k, epoch),
          snapshot: outcome,
        });
      } finally {
        tf.dispose([lossSum, correctSum]);
      }
    }
  } finally {
    theta.dispose();
  }

  const manifest = manifestFor(state.history);
  await putJson(store, keys.complete, manifest);
  return { expert: k, alreadyComplete: false, resumedFrom, trainedEpochs, manifest };
}

/** Checks the arguments against each other; returns the number of training images. */
async function validateArgs(args: TrainExpertArgs): Promise<number> {
  const { cfg, experts, lastEpoch, train } = args;
  const what = 'trainExpert';
  if (!Number.isInteger(lastEpoch) || lastEpoch < 1 || lastEpoch > experts.epochs || lastEpoch > MAX_EPOCH) {
    throw new Error(
      `${what}: expected lastEpoch to be an integer in [1, experts.epochs = ${experts.epochs}], got ${lastEpoch}`,
    );
  }
  const { images, labels } = train;
  const [n, h, w, c] = images.shape;
  if (
    images.rank !== 4 ||
    h !== cfg.imageSize ||
    w !== cfg.imageSize ||
    c !== cfg.channels ||
    n === undefined ||
    n < 1
  ) {
    throw new Error(
      `${what}: expected training images [n >= 1, ${cfg.imageSize}, ${cfg.imageSize}, ${cfg.channels}] (NHWC), got [${images.shape}]`,
    );
  }
  if (labels.rank !== 1 || labels.shape[0] !== n) {
    throw new Error(`${what}: expected ${n} labels (one per image), got shape [${labels.shape}]`);
  }
  const values = await labels.data();
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= cfg.numClasses);
  if (bad >= 0)
    throw new Error(`${what}: expected labels in [0, ${cfg.numClasses}), got ${values[bad]} at index ${bad}`);
  // x * 0 is NaN exactly when x is NaN or infinite: one scalar read (asynchronous: WebGPU in Node has no sync read).
  const check = tf.tidy(() => tf.sum(tf.mul(images, 0)));
  const finite = !Number.isNaN((await check.data())[0]);
  check.dispose();
  if (!finite) throw new Error(`${what}: training images contain NaN or Inf`);
  return n;
}

function assertFinite(values: Float32Array, what: string): void {
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new Error(`${what}: parameter ${bad} is ${values[bad]} (NaN or Inf)`);
}

function recipeMismatch(
  key: string,
  location: string,
  where: string,
  expected: string,
  found: string,
): ArtifactFormatError {
  return new ArtifactFormatError(
    key,
    location,
    `${where} trained with config digest ${expected}`,
    `config digest ${found} (another model, data or experts config wrote it; delete the expert's objects or use another runId)`,
  );
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
