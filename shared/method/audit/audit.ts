import { tf } from '../../engine/tf.ts';
import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import { createRng, deriveSeed, permutation } from '../../engine/random.ts';
import type { RunConfig } from '../../config/index.ts';
import type { AuditConfig } from '../../config/audit.ts';
import type { ImageSet } from '../../data/types.ts';
import { putJson } from '../../storage/json.ts';
import { encodeSafetensors } from '../../storage/safetensors.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import { initialDistillState, initialRealRows } from '../distill/init.ts';
import { accuracy } from '../evaluate/accuracy.ts';
import { randomRealSubset, REAL_BASELINE_LR } from '../evaluate/baselines.ts';
import { imageSetTensors } from '../evaluate/labelled.ts';
import { trainNetwork } from '../evaluate/train-network.ts';
import type { RunData } from '../pipeline/data.ts';
import { loadPublishedSet } from '../pipeline/evaluate.ts';
import { resultsPrefix } from '../pipeline/keys.ts';
import { attackFigures, perExampleLoss, subset, type AttackFigures } from './membership.ts';
import { nearestNeighbours, summarise, type NearestRecord, type Summary } from './nearest.ts';

/** Nearest-neighbour figures of one set (the published one, or the initial one before distillation). */
export interface SimilarityFigures {
  /** Best SSIM with a real training image, per synthetic image and summarised. */
  nearestSsim: Summary;
  /** L2 distance (normalised space) to the nearest real training image. */
  nearestL2: Summary;
  flagged: number;
}

export interface ClassSimilarity {
  label: number;
  name: string;
  nearestSsim: Summary;
  nearestL2: Summary;
  initialSsim: Summary | null;
  initialDistance: Summary | null;
  initialRank: Summary | null;
}

/** One target network of the membership attacks and what the attacks achieved against it. */
export interface TargetFigures {
  trainedOn: string;
  images: number;
  lr: number;
  epochs: number;
  seed: number;
  testAccuracy: number;
  loss: AttackFigures;
  calibrated: AttackFigures | null;
}

export interface MembershipFigures {
  members: number;
  /** Members that are the images the synthetic set was initialised from (also counted in `members`). */
  initialMembers: number;
  nonMembers: number;
  nonMemberSource: 'test';
  synthetic: TargetFigures;
  real: TargetFigures;
  calibration:
    { referenceNetworks: number; pool: 'val'; poolImages: number; note: string } | { skipped: string };
}

/** What `auditRun` measured, JSON-serialisable (results/<stage>/audit.json). */
export interface AuditResult {
  kind: 'hoptm-privacy-audit';
  runId: string;
  stage: string;
  set: { kind: 'selected' | 'final'; iteration: number | null; lr: number; images: number };
  dataset: { name: string; contentHash: string; trainImages: number; classNames: string[] };
  init: 'real' | 'noise';
  config: AuditConfig;
  nearCopies: {
    metric: string;
    threshold: number;
    candidates: number;
    /** Indices of the flagged synthetic images. */
    flagged: number[];
    images: NearestRecord[];
    after: SimilarityFigures;
    before: SimilarityFigures;
    perClass: ClassSimilarity[];
  };
  membership: MembershipFigures | null;
  seconds: number;
  /** Where the audit and its images are stored. */
  key: string;
  imagesKey: string;
}

export interface AuditOptions {
  signal?: AbortSignal;
  /** Progress lines (what is being trained or measured). */
  onStep?(message: string): void | Promise<void>;
}

export const auditKey = (runId: string, stage: string): string => `${resultsPrefix(runId, stage)}/audit.json`;
export const auditImagesKey = (runId: string, stage: string): string =>
  `${resultsPrefix(runId, stage)}/audit-images.safetensors`;

const similarity = (records: NearestRecord[]): SimilarityFigures => ({
  nearestSsim: summarise(records.map((r) => r.nearestSsim.ssim)),
  nearestL2: summarise(records.map((r) => r.nearestL2.distance)),
  flagged: records.filter((r) => r.flagged).length,
});

/**
 * The privacy audit of a stage's published set (docs/privacy.md): how close each synthetic image stays to real
 * patients (nearest real training image by L2 and SSIM, distance to and rank of its own initial image; per class,
 * before and after distillation; near-copies flagged) and membership inference against a network trained on the
 * synthetic set, with a network trained on the real training data as the contrast. Writes
 * results/<stage>/audit.json and audit-images.safetensors (initial and nearest real images, for the report).
 */
export async function auditRun(
  cfg: RunConfig,
  data: RunData,
  store: ArtifactStore,
  runId: string,
  stage: string,
  opts: AuditOptions = {},
): Promise<AuditResult> {
  const t0 = performance.now();
  const audit = cfg.audit;
  const { dataset } = data;
  const { train, manifest } = dataset;
  const set = await loadPublishedSet(store, runId, stage);
  const norm = manifest.preprocess.normalisation;
  const initRows =
    cfg.distill.init === 'real'
      ? initialRealRows(train, manifest.numClasses, cfg.distill.ipc, cfg.distill.seed)
      : null;
  const initial = initialDistillState(train, manifest.numClasses, {
    ipc: cfg.distill.ipc,
    init: cfg.distill.init,
    lrTeacher: cfg.distill.lrTeacher,
    paramCount: 1,
    maskEnabled: false,
    experts: [0],
    seed: cfg.distill.seed,
  });
  if (initial.images.length !== set.images.length)
    throw new Error(
      `audit: the published set has ${set.shape[0]} images but the config's initialisation gives ${initial.imageShape[0]}; audit with the run's own config`,
    );
  const nnOpts = {
    norm,
    initialRows: initRows,
    candidates: audit.ssimCandidates,
    threshold: audit.nearCopySsim,
    signal: opts.signal,
  };
  await opts.onStep?.('audit: nearest real images of the published set');
  const after = await nearestNeighbours({ images: set.images, labels: set.labels }, train, nnOpts);
  await opts.onStep?.('audit: nearest real images of the initial set');
  const before = await nearestNeighbours({ images: initial.images, labels: initial.labels }, train, nnOpts);

  const perClass: ClassSimilarity[] = manifest.classNames.map((name, label) => {
    const rs = after.filter((r) => r.label === label);
    const init = rs.flatMap((r) => (r.initial === null ? [] : [r.initial]));
    const sum = (v: number[]): Summary | null => (v.length === 0 ? null : summarise(v));
    return {
      label,
      name,
      nearestSsim: summarise(rs.map((r) => r.nearestSsim.ssim)),
      nearestL2: summarise(rs.map((r) => r.nearestL2.distance)),
      initialSsim: sum(init.map((i) => i.ssim)),
      initialDistance: sum(init.map((i) => i.distance)),
      initialRank: sum(init.map((i) => i.rank)),
    };
  });

  // The real images the report shows beside each synthetic one: its initial image and its nearest by SSIM.
  const [n, h, w, c] = set.shape;
  const pick = (rows: number[]): Float32Array => subset(train, rows).images;
  const imagesKey = auditImagesKey(runId, stage);
  await store.put(
    imagesKey,
    encodeSafetensors(
      {
        nearest: { dtype: 'F32', shape: [n, h, w, c], data: pick(after.map((r) => r.nearestSsim.row)) },
        ...(initRows === null
          ? {}
          : { initial: { dtype: 'F32' as const, shape: [n, h, w, c], data: pick(initRows) } }),
      },
      {
        layout: 'NHWC',
        rows: JSON.stringify({ nearest: after.map((r) => r.nearestSsim.row), initial: initRows }),
      },
    ),
  );

  const membership = audit.membership.enabled
    ? await membershipAudit(cfg, data, set, initRows ?? [], opts)
    : null;

  const result: AuditResult = {
    kind: 'hoptm-privacy-audit',
    runId,
    stage,
    set: { kind: set.kind ?? 'final', iteration: set.iteration ?? null, lr: set.lr, images: n },
    dataset: {
      name: manifest.name,
      contentHash: manifest.contentHash,
      trainImages: train.n,
      classNames: manifest.classNames,
    },
    init: cfg.distill.init,
    config: audit,
    nearCopies: {
      metric: `SSIM (pixel space, 7x7 window) with the most similar of the ${audit.ssimCandidates} L2-nearest real training images and the initial image`,
      threshold: audit.nearCopySsim,
      candidates: audit.ssimCandidates,
      flagged: after.filter((r) => r.flagged).map((r) => r.index),
      images: after,
      after: similarity(after),
      before: similarity(before),
      perClass,
    },
    membership,
    seconds: (performance.now() - t0) / 1000,
    key: auditKey(runId, stage),
    imagesKey,
  };
  await putJson(store, result.key, result);
  return result;
}

async function trainOn(
  set: ImageSet,
  model: ConvNetConfig,
  cfg: RunConfig,
  lr: number,
  epochs: number,
  seed: number,
  signal: AbortSignal | undefined,
): Promise<Float32Array> {
  const t = imageSetTensors(set);
  try {
    const e = cfg.evaluate;
    return await trainNetwork(
      t,
      {
        cfg: model,
        lr,
        epochs,
        batchSize: e.batchSize,
        momentum: e.momentum,
        weightDecay: e.weightDecay,
        dsa: e.dsa,
        seed,
      },
      { signal },
    );
  } finally {
    tf.dispose([t.images, t.labels]);
  }
}

/**
 * Loss-based membership inference (Yeom et al. 2018) and its calibrated form (per-example difficulty from
 * reference networks trained without the candidates, Watson et al. 2022) against two targets: a network trained
 * on the synthetic set (the evaluation protocol, learned lr) and one trained on the real training split (expert
 * lr, `realEpochs`). Members: real training images, including every initial image; non-members: test images.
 */
async function membershipAudit(
  cfg: RunConfig,
  data: RunData,
  set: { images: Float32Array; labels: Int32Array; shape: [number, number, number, number]; lr: number },
  initRows: number[],
  opts: AuditOptions,
): Promise<MembershipFigures> {
  const m = cfg.audit.membership;
  const { train, test, val, manifest } = data.dataset;
  const model = data.model;
  const seed = (...path: (string | number)[]): number => deriveSeed(m.seed, 'audit', ...path);
  const initSet = new Set(initRows);
  const pool = Array.from({ length: train.n }, (_, i) => i).filter((i) => !initSet.has(i));
  const rng = createRng(seed('members'));
  const sampled = permutation(pool.length, rng)
    .slice(0, Math.min(m.members, pool.length))
    .map((i) => pool[i]!);
  const memberRows = [...sampled, ...initRows];
  const isInitial = memberRows.map((_, i) => i >= sampled.length);
  const nonRows = permutation(test.n, createRng(seed('non-members'))).slice(
    0,
    Math.min(m.nonMembers, test.n),
  );
  const members = subset(train, memberRows);
  const nonMembers = subset(test, nonRows);
  const synthetic: ImageSet = {
    images: set.images,
    labels: set.labels,
    n: set.shape[0],
    height: set.shape[1],
    width: set.shape[2],
    channels: set.shape[3],
  };

  const scores = async (params: Float32Array): Promise<{ mem: Float64Array; non: Float64Array }> => ({
    mem: (await perExampleLoss(params, members, model)).map((v) => -v),
    non: (await perExampleLoss(params, nonMembers, model)).map((v) => -v),
  });
  const target = async (
    name: 'synthetic' | 'real',
    trainSet: ImageSet,
    lr: number,
    epochs: number,
    refs: (k: number) => { set: ImageSet; lr: number; epochs: number } | null,
  ): Promise<TargetFigures> => {
    await opts.onStep?.(
      `audit: training the ${name}-trained target network (${trainSet.n} images, ${epochs} epochs)`,
    );
    const s = seed('target', name);
    const params = await trainOn(trainSet, model, cfg, lr, epochs, s, opts.signal);
    const { mem, non } = await scores(params);
    let calibrated: AttackFigures | null = null;
    if (m.referenceNetworks > 0 && refs(0) !== null) {
      const refMem = new Float64Array(mem.length);
      const refNon = new Float64Array(non.length);
      for (let k = 0; k < m.referenceNetworks; k++) {
        const r = refs(k)!;
        await opts.onStep?.(
          `audit: reference network ${k + 1}/${m.referenceNetworks} for the ${name} target`,
        );
        const p = await trainOn(r.set, model, cfg, r.lr, r.epochs, seed('reference', name, k), opts.signal);
        const rs = await scores(p);
        rs.mem.forEach((v, i) => (refMem[i]! += v / m.referenceNetworks));
        rs.non.forEach((v, i) => (refNon[i]! += v / m.referenceNetworks));
      }
      // Calibrated score: how much lower the target's loss is than the reference networks' (higher = member).
      calibrated = attackFigures(
        mem.map((v, i) => v - refMem[i]!),
        non.map((v, i) => v - refNon[i]!),
        isInitial,
      );
    }
    return {
      trainedOn: name === 'synthetic' ? 'the published synthetic set' : 'the real training split',
      images: trainSet.n,
      lr,
      epochs,
      seed: s,
      testAccuracy: await accuracy(params, test, model, { signal: opts.signal }),
      loss: attackFigures(mem, non, isInitial),
      calibrated,
    };
  };

  const ipc = cfg.distill.ipc;
  const refPool = val;
  const syntheticFigures = await target('synthetic', synthetic, set.lr, cfg.evaluate.epochs, (k) =>
    refPool === undefined
      ? null
      : {
          set: randomRealSubset(refPool, ipc, createRng(seed('reference-subset', k)), manifest.numClasses),
          lr: set.lr,
          epochs: cfg.evaluate.epochs,
        },
  );
  const realFigures = await target('real', train, REAL_BASELINE_LR, m.realEpochs, () =>
    refPool === undefined ? null : { set: refPool, lr: REAL_BASELINE_LR, epochs: m.realEpochs },
  );
  return {
    members: memberRows.length,
    initialMembers: initRows.length,
    nonMembers: nonRows.length,
    nonMemberSource: 'test',
    synthetic: syntheticFigures,
    real: realFigures,
    calibration:
      m.referenceNetworks === 0
        ? { skipped: 'audit.membership.referenceNetworks is 0' }
        : refPool === undefined
          ? { skipped: 'the dataset has no val split to train reference networks on' }
          : {
              referenceNetworks: m.referenceNetworks,
              pool: 'val',
              poolImages: refPool.n,
              note: 'reference networks never see a member or non-member: for the synthetic target each trains on ipc random val images per class at the learned lr, for the real target on the whole val split at the expert lr',
            },
  };
}
