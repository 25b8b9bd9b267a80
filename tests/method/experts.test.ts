import { describe, expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../shared/engine/tf.ts';
import { convNetForward } from '../../shared/engine/convnet/forward.ts';
import { convNetLayout, type ConvNetConfig } from '../../shared/engine/convnet/layout.ts';
import { crossEntropy } from '../../shared/engine/ops/cross-entropy.ts';
import { createRng } from '../../shared/engine/random.ts';
import { expertsSchema, type ExpertsConfig } from '../../shared/config/experts.ts';
import { runConfigSchema } from '../../shared/config/schema.ts';
import { pathmnistIpc10 } from '../../shared/config/presets/pathmnist.ts';
import { ArtifactFormatError } from '../../shared/storage/errors.ts';
import { float16ArrayToFloat32, float32ArrayToFloat16 } from '../../shared/storage/float16.ts';
import { createMemoryStore } from '../../shared/storage/memory.ts';
import type { ArtifactStore } from '../../shared/storage/store.ts';
import {
  expertStep,
  gsamDirection,
  gsamPerturbation,
  gsamStep,
  gsamStepDetailed,
} from '../../shared/method/experts/gsam.ts';
import {
  expertLastEpoch,
  trainExpert,
  type EpochInfo,
  type TrainExpertArgs,
} from '../../shared/method/experts/train-expert.ts';
import { listCompleteExperts, loadExpertPoints } from '../../shared/method/experts/trajectory.ts';
import { snapshotKey, stateKey } from '../../shared/method/experts/keys.ts';
import { f32, loadFixture, type FixtureArray } from '../helpers/fixtures.ts';
import { expectClose } from '../helpers/compare.ts';

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const vec = (values: number[]): Tensor1D => tf.tensor1d(values);
const read = (t: tf.Tensor): number[] => Array.from(t.dataSync());

/** A tiny ConvNet (P = 4*1*9+4*3 + 4*4*9+4*3 + 3*4*2*2+3 = 255) and a few dozen random images. */
const TINY: ConvNetConfig = { channels: 1, width: 4, depth: 2, imageSize: 8, numClasses: 3 };

function tinyData(n = 40, seed = 11): { images: Tensor4D; labels: Tensor1D } {
  const rng = createRng(seed);
  const s = TINY.imageSize;
  return {
    images: tf.tensor4d(
      Float32Array.from({ length: n * s * s }, () => 2 * rng.next() - 1),
      [n, s, s, 1],
    ),
    labels: tf.tensor1d(
      Array.from({ length: n }, (_, i) => i % TINY.numClasses),
      'int32',
    ),
  };
}

const expertsConfig = (over: Partial<ExpertsConfig> = {}): ExpertsConfig => ({
  ...expertsSchema.parse({ epochs: 3, batchSize: 16, seed: 5 }),
  ...over,
});

const args = (over: Partial<TrainExpertArgs> = {}): TrainExpertArgs => ({
  runId: 'run-a',
  expert: 0,
  cfg: TINY,
  experts: expertsConfig(),
  lastEpoch: 3,
  train: tinyData(),
  ...over,
});

async function contents(store: ArtifactStore): Promise<Map<string, Uint8Array>> {
  const keys = await store.list('');
  return new Map(await Promise.all(keys.map(async (k) => [k, await store.get(k)] as const)));
}

function expectSameContents(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [key, bytes] of a) {
    const other = b.get(key)!;
    expect(other.length, key).toBe(bytes.length);
    expect(Buffer.compare(Buffer.from(other), Buffer.from(bytes)), `${key} differs`).toBe(0);
  }
}

/** A store whose operations can be made to fail once, like a flaky bucket or a crash between two writes. */
function flakyStore(
  inner: ArtifactStore,
  failOnce: (op: 'create' | 'put', key: string) => boolean,
): ArtifactStore {
  let failed = false;
  const maybeFail = (op: 'create' | 'put', key: string): void => {
    if (!failed && failOnce(op, key)) {
      failed = true;
      throw new Error(`injected failure on ${op} ${key}`);
    }
  };
  return {
    ...inner,
    name: inner.name,
    location: inner.location,
    create: async (key, data) => (maybeFail('create', key), inner.create(key, data)),
    put: async (key, data) => (maybeFail('put', key), inner.put(key, data)),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// GSAM

describe('GSAM algebra on flat vectors (hand-computed)', () => {
  it('perturbation, adaptive: e = g * rho / ||w*g|| * w^2 with g=[3,4] w=[1,-2] rho=0.01', () => {
    // |w|*g = [3, 8], norm sqrt(73); e = [3, 4] * 0.01/sqrt(73) * [1, 4] = [0.03, 0.16] / sqrt(73)
    const e = gsamPerturbation(vec([3, 4]), vec([1, -2]), { rho: 0.01, alpha: 0.3, adaptive: true });
    expectClose(read(e), [0.03 / Math.sqrt(73), 0.16 / Math.sqrt(73)], 1e-6, 'e');
  });

  it('perturbation, non-adaptive: e = g * rho / ||g|| with g=[3,4] rho=0.01', () => {
    const e = gsamPerturbation(vec([3, 4]), vec([1, -2]), { rho: 0.01, alpha: 0.3, adaptive: false });
    expectClose(read(e), [0.006, 0.008], 1e-6, 'e');
  });

  it('perturbation of a zero gradient is zero, not NaN (eps 1e-12 guards the norm)', () => {
    expect(
      read(gsamPerturbation(vec([0, 0]), vec([1, 2]), { rho: 0.01, alpha: 0.3, adaptive: true })),
    ).toEqual([0, 0]);
  });

  it("direction: g=[1,0] g'=[1,1] alpha=0.3 gives g' - 0.3 (g - cos |g| g'/|g'|) = [0.85, 1.15]", () => {
    // cos = 1/sqrt(2); vertical = [1,0] - (1/sqrt2) * 1 * [1,1]/sqrt2 = [0.5, -0.5]
    expectClose(
      read(gsamDirection(vec([1, 0]), vec([1, 1]), { alpha: 0.3 })),
      [0.85, 1.15],
      1e-6,
      'direction',
    );
  });

  it("direction: parallel gradients have no vertical part, so the result is g' (g=[1,2] g'=[2,4])", () => {
    expectClose(read(gsamDirection(vec([1, 2]), vec([2, 4]), { alpha: 0.3 })), [2, 4], 1e-6, 'direction');
  });

  it("direction: alpha=0 is plain SAM (g'), and the vertical part is orthogonal to g' (g=[2,-1,3] g'=[1,1,1])", () => {
    expectClose(read(gsamDirection(vec([2, -1, 3]), vec([1, 1, 1]), { alpha: 0 })), [1, 1, 1], 1e-7, 'sam');
    const d = read(gsamDirection(vec([2, -1, 3]), vec([1, 1, 1]), { alpha: 1 }));
    const vertical = d.map((v) => 1 - v); // g' - d = alpha * vertical
    expect(Math.abs(vertical.reduce((a, b) => a + b, 0))).toBeLessThan(1e-6); // <vertical, g'> = 0
  });
});

interface GsamCase {
  name: string;
  cfg: ConvNetConfig;
  options: { rho: number; alpha: number; adaptive: boolean; lr: number; eps: number };
  steps: {
    params: FixtureArray;
    images: FixtureArray;
    labels: FixtureArray;
    expected: {
      loss: number;
      perturbedLoss: number;
      grad: FixtureArray;
      update: FixtureArray;
      params: FixtureArray;
    };
  }[];
}

describe('GSAM step against PyTorch float64 (tests/fixtures/gsam.json, reference GSAM class replayed)', () => {
  const cases = loadFixture<GsamCase[]>('gsam.json');

  for (const c of cases) {
    const { rho, alpha, adaptive, lr } = c.options;
    c.steps.forEach((step, i) => {
      it(`${c.name} step ${i}: x=[${step.images.shape}] P=${step.params.shape[0]} rho=${rho} alpha=${alpha} lr=${lr.toPrecision(3)}`, () => {
        const theta = tf.tensor1d(f32(step.params));
        const batch = {
          images: tf.tensor4d(f32(step.images), step.images.shape as [number, number, number, number]),
          labels: tf.tensor1d(step.labels.data, 'int32'),
        };
        const r = gsamStepDetailed(theta, batch, c.cfg, { lr, rho, alpha, adaptive });
        // float32 engine vs float64 reference: values to float32 round-off, the update (a difference of two
        // nearby vectors) to 1e-4 of its largest entry.
        expectClose(r.loss.dataSync()[0]!, step.expected.loss, 1e-6, 'loss');
        expectClose(r.perturbedLoss!.dataSync()[0]!, step.expected.perturbedLoss, 1e-6, 'perturbed loss');
        expectClose(r.direction.dataSync(), step.expected.grad.data, 2e-6, 'direction g-hat');
        expectClose(r.params.dataSync(), step.expected.params.data, 1e-6, 'new params');
        const update = Array.from(r.params.dataSync(), (v, j) => v - theta.dataSync()[j]!);
        expectClose(update, step.expected.update.data, 1e-4, 'update');
        tf.dispose([
          theta,
          batch.images,
          batch.labels,
          r.params,
          r.direction,
          r.loss,
          r.correct,
          r.perturbedLoss!,
        ]);
      });
    });
  }

  it('gsamStep returns only the new params and frees everything else', () => {
    const c = cases[0]!;
    const step = c.steps[0]!;
    const theta = tf.tensor1d(f32(step.params));
    const batch = {
      images: tf.tensor4d(f32(step.images), step.images.shape as [number, number, number, number]),
      labels: tf.tensor1d(step.labels.data, 'int32'),
    };
    const before = tf.memory().numTensors;
    const next = gsamStep(theta, batch, c.cfg, { lr: c.options.lr, rho: 0.01, alpha: 0.3, adaptive: true });
    expect(tf.memory().numTensors).toBe(before + 1);
    expectClose(next.dataSync(), step.expected.params.data, 1e-6, 'new params');
    tf.dispose([next, theta, batch.images, batch.labels]);
  });
});

describe('plain SGD when gsam is null', () => {
  const data = tinyData(6);
  const theta = tf.tensor1d(
    Float32Array.from({ length: convNetLayout(TINY).size }, (_, i) => Math.sin(i) * 0.3),
  );
  const grad = tf.grad((t: tf.Tensor) =>
    crossEntropy(convNetForward(t as Tensor1D, data.images, TINY), data.labels),
  )(theta);

  it('steps theta - lr * dL/dtheta', () => {
    const r = expertStep(theta, data, TINY, { lr: 0.05, gsam: null });
    expect(r.perturbedLoss).toBeNull();
    expectClose(r.params.dataSync(), read(tf.sub(theta, tf.mul(grad, 0.05))), 1e-7, 'sgd params');
  });

  it("GSAM with rho = 0 reduces to SGD (e = 0, g' = g, no vertical part)", () => {
    const r = expertStep(theta, data, TINY, { lr: 0.05, gsam: { rho: 0, alpha: 0.3, adaptive: true } });
    expectClose(r.params.dataSync(), read(tf.sub(theta, tf.mul(grad, 0.05))), 1e-6, 'gsam rho=0 params');
  });

  it('throws on a wrong parameter count, mismatched labels or a bad lr', () => {
    expect(() => expertStep(tf.zeros([3]) as Tensor1D, data, TINY, { lr: 0.1, gsam: null })).toThrow(
      'sgdStep: expected a flat parameter vector of 255, got shape [3]',
    );
    expect(() =>
      expertStep(theta, { images: data.images, labels: tf.tensor1d([0, 1], 'int32') }, TINY, {
        lr: 0.1,
        gsam: null,
      }),
    ).toThrow('sgdStep: expected one label per image (6), got shape [2]');
    expect(() =>
      gsamStep(theta, data, TINY, { lr: Number.NaN, rho: 0.01, alpha: 0.3, adaptive: true }),
    ).toThrow('gsamStep: expected a finite lr > 0, got NaN');
    expect(() => gsamStep(theta, data, TINY, { lr: 0.1, rho: -1, alpha: 0.3, adaptive: true })).toThrow(
      'gsamStep: expected a finite rho >= 0, got -1',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Training and resume

describe('trainExpert: tiny ConvNet 8x8x1 width 4 depth 2, 40 images, batch 16 (last batch 8), GSAM + DSA', () => {
  it('stores epochs 0..3, a state and a done marker, and frees its tensors', async () => {
    const store = createMemoryStore();
    const a = args();
    const before = tf.memory().numTensors;
    const infos: EpochInfo[] = [];
    const result = await trainExpert(a, { store }, { onEpoch: (_, info) => void infos.push(info) });
    expect(tf.memory().numTensors).toBe(before);
    expect(await store.list('run-a')).toEqual([
      'run-a/expert/0/complete.json',
      'run-a/expert/0/epoch/0000.safetensors',
      'run-a/expert/0/epoch/0001.safetensors',
      'run-a/expert/0/epoch/0002.safetensors',
      'run-a/expert/0/epoch/0003.safetensors',
      'run-a/expert/0/state.safetensors',
    ]);
    expect(result).toMatchObject({ expert: 0, alreadyComplete: false, resumedFrom: null, trainedEpochs: 3 });
    expect(result.manifest).toMatchObject({ lastEpoch: 3, parameters: 255, dtype: 'float32' });
    expect(infos.map((i) => [i.epoch, i.snapshot])).toEqual([
      [1, 'created'],
      [2, 'created'],
      [3, 'created'],
    ]);
    expect(result.manifest.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    for (const h of result.manifest.history) {
      expect(h.loss).toBeGreaterThan(0);
      expect(h.accuracy).toBeGreaterThanOrEqual(0);
      expect(h.accuracy).toBeLessThanOrEqual(1);
    }
    const points = await loadExpertPoints(store, 'run-a', 0, [0, 1, 2, 3], { parameters: 255 });
    for (let e = 1; e <= 3; e++) expect(points[e]).not.toEqual(points[e - 1]); // it trains
  });

  it('is deterministic: two fresh runs write byte-identical objects', async () => {
    const s1 = createMemoryStore();
    const s2 = createMemoryStore();
    await trainExpert(args(), { store: s1 });
    await trainExpert(args(), { store: s2 });
    expectSameContents(await contents(s1), await contents(s2));
  });

  it('different experts get different seeds, inits and trajectories', async () => {
    const store = createMemoryStore();
    await trainExpert(args({ expert: 0, lastEpoch: 1 }), { store });
    await trainExpert(args({ expert: 1, lastEpoch: 1 }), { store });
    const [a0] = await loadExpertPoints(store, 'run-a', 0, [0]);
    const [b0] = await loadExpertPoints(store, 'run-a', 1, [0]);
    expect(a0).not.toEqual(b0);
  });

  it('abort after epoch 1, then call again: resumes from epoch 1, and every object is byte-identical to a straight run', async () => {
    const straight = createMemoryStore();
    await trainExpert(args(), { store: straight });

    const store = createMemoryStore();
    const controller = new AbortController();
    const first = args();
    const before = tf.memory().numTensors;
    await expect(
      trainExpert(
        first,
        { store },
        { signal: controller.signal, onEpoch: (e) => void (e === 1 && controller.abort()) },
      ),
    ).rejects.toMatchObject({ name: 'AbortError' });
    expect(tf.memory().numTensors).toBe(before);
    expect(await store.list('run-a')).toEqual([
      'run-a/expert/0/epoch/0000.safetensors',
      'run-a/expert/0/epoch/0001.safetensors',
      'run-a/expert/0/state.safetensors',
    ]);
    const result = await trainExpert(args(), { store });
    expect(result).toMatchObject({ resumedFrom: 1, trainedEpochs: 2 });
    expectSameContents(await contents(straight), await contents(store));
  });

  it('an error thrown mid-epoch 2 loses only that epoch; the retry is byte-identical', async () => {
    const straight = createMemoryStore();
    await trainExpert(args(), { store: straight });

    const store = createMemoryStore();
    const onBatch = (epoch: number, batch: number): void => {
      if (epoch === 2 && batch === 1) throw new Error('worker lost mid-epoch');
    };
    await expect(trainExpert(args(), { store }, { onBatch })).rejects.toThrow('worker lost mid-epoch');
    expect((await store.list('run-a/expert/0/epoch')).length).toBe(2); // epochs 0 and 1
    const result = await trainExpert(args(), { store });
    expect(result.resumedFrom).toBe(1);
    expectSameContents(await contents(straight), await contents(store));
  });

  it('a crash between the epoch snapshot and the state write: the retry finds the snapshot, verifies it, skips it', async () => {
    const straight = createMemoryStore();
    await trainExpert(args(), { store: straight });

    const inner = createMemoryStore();
    let stateWrites = 0;
    const store = flakyStore(
      inner,
      (op, key) => op === 'put' && key === stateKey('run-a', 0) && ++stateWrites === 3,
    ); // epoch 2's state
    await expect(trainExpert(args(), { store })).rejects.toThrow(
      'injected failure on put run-a/expert/0/state.safetensors',
    );
    expect(await inner.exists(snapshotKey('run-a', 0, 2))).toBe(true);
    const infos: EpochInfo[] = [];
    const result = await trainExpert(args(), { store }, { onEpoch: (_, i) => void infos.push(i) });
    expect(result.resumedFrom).toBe(1);
    expect(infos.map((i) => [i.epoch, i.snapshot])).toEqual([
      [2, 'existing-identical'],
      [3, 'created'],
    ]);
    expectSameContents(await contents(straight), await contents(inner));
  });

  it('a crash right after the init snapshot (no state yet) restarts cleanly', async () => {
    const straight = createMemoryStore();
    await trainExpert(args(), { store: straight });
    const inner = createMemoryStore();
    const store = flakyStore(inner, (op) => op === 'put');
    await expect(trainExpert(args(), { store })).rejects.toThrow('injected failure');
    expect(await inner.list('')).toEqual(['run-a/expert/0/epoch/0000.safetensors']);
    expect((await trainExpert(args(), { store })).resumedFrom).toBeNull();
    expectSameContents(await contents(straight), await contents(inner));
  });

  it('a stored snapshot with other float32 values (another backend) is adopted, and training continues from it', async () => {
    const store = createMemoryStore();
    await trainExpert(args({ lastEpoch: 1 }), { store });
    // Simulate a retry whose first attempt (another machine) stored epoch 2 and died before its state write.
    const other = createMemoryStore();
    await trainExpert(args({ lastEpoch: 2 }), { store: other });
    const bytes = await other.get(snapshotKey('run-a', 0, 2));
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const dataStart = 8 + Number(view.getBigUint64(0, true));
    view.setFloat32(dataStart, view.getFloat32(dataStart, true) + 1e-3, true); // a slightly different value
    await store.create(snapshotKey('run-a', 0, 2), bytes);
    const infos: EpochInfo[] = [];
    await trainExpert(args(), { store }, { onEpoch: (_, i) => void infos.push(i) });
    expect(infos.map((i) => i.snapshot)).toEqual(['existing-adopted', 'created']);
    const [p2] = await loadExpertPoints(store, 'run-a', 0, [2]);
    expect(p2![0]).toBe(new DataView(bytes.buffer, bytes.byteOffset).getFloat32(dataStart, true));
  });

  it('a complete expert is not retrained; asking for more epochs extends it from the state', async () => {
    const store = createMemoryStore();
    const experts = expertsConfig({ epochs: 4 });
    await trainExpert(args({ experts, lastEpoch: 2 }), { store });
    const before = await contents(store);
    const again = await trainExpert(args({ experts, lastEpoch: 2 }), { store });
    expect(again).toMatchObject({ alreadyComplete: true, trainedEpochs: 0 });
    expectSameContents(before, await contents(store));
    const more = await trainExpert(args({ experts, lastEpoch: 4 }), { store });
    expect(more).toMatchObject({ alreadyComplete: false, resumedFrom: 2, trainedEpochs: 2 });
    expect(more.manifest.lastEpoch).toBe(4);
    const straight = createMemoryStore();
    await trainExpert(args({ experts, lastEpoch: 4 }), { store: straight });
    expectSameContents(await contents(straight), await contents(store));
  });

  it('plain SGD (gsam null) and no DSA train too, with a different trajectory', async () => {
    const store = createMemoryStore();
    await trainExpert(args({ runId: 'gsam', lastEpoch: 1 }), { store });
    await trainExpert(
      args({ runId: 'sgd', lastEpoch: 1, experts: expertsConfig({ gsam: null, dsa: false }) }),
      { store },
    );
    const [g0, g1] = await loadExpertPoints(store, 'gsam', 0, [0, 1]);
    const [s0, s1] = await loadExpertPoints(store, 'sgd', 0, [0, 1]);
    expect(s0).toEqual(g0); // same seed, same init
    expect(s1).not.toEqual(g1);
  });

  it("keepEpochs 'sampled' (PathMNIST IPC10: max_start 4, M 2) trains and stores only epochs 0..5", async () => {
    const run = runConfigSchema.parse({ ...pathmnistIpc10, experts: { keepEpochs: 'sampled' } });
    expect(expertLastEpoch(run)).toBe(5);
    // The preset itself trains only what distillation reads; 'all' is the reference's full trajectory.
    expect(expertLastEpoch(runConfigSchema.parse(pathmnistIpc10))).toBe(5);
    expect(
      expertLastEpoch(runConfigSchema.parse({ ...pathmnistIpc10, experts: { keepEpochs: 'all' } })),
    ).toBe(100);
    const store = createMemoryStore();
    const result = await trainExpert(
      args({ experts: { ...run.experts, batchSize: 16 }, lastEpoch: expertLastEpoch(run) }),
      { store },
    );
    expect(result.manifest.lastEpoch).toBe(5);
    expect(await store.list('run-a/expert/0/epoch')).toEqual(
      [0, 1, 2, 3, 4, 5].map((e) => snapshotKey('run-a', 0, e)),
    );
  });
});

describe('trainExpert: bad input fails with a clear error', () => {
  const store = createMemoryStore();

  it('throws when lastEpoch is outside 1..experts.epochs', async () => {
    await expect(trainExpert(args({ lastEpoch: 0 }), { store })).rejects.toThrow(
      'trainExpert: expected lastEpoch to be an integer in [1, experts.epochs = 3], got 0',
    );
    await expect(trainExpert(args({ lastEpoch: 4 }), { store })).rejects.toThrow('got 4');
    await expect(trainExpert(args({ lastEpoch: 1.5 }), { store })).rejects.toThrow('got 1.5');
  });

  it('throws when images are not NHWC of the model, or labels do not match', async () => {
    const { images, labels } = tinyData(10);
    await expect(
      trainExpert(args({ train: { images: tf.zeros([10, 1, 8, 8]) as Tensor4D, labels } }), { store }),
    ).rejects.toThrow('trainExpert: expected training images [n >= 1, 8, 8, 1] (NHWC), got [10,1,8,8]');
    await expect(
      trainExpert(args({ train: { images, labels: tf.tensor1d([0, 1], 'int32') } }), { store }),
    ).rejects.toThrow('trainExpert: expected 10 labels (one per image), got shape [2]');
    const bad = tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 0, 1, 2], 'int32');
    await expect(trainExpert(args({ train: { images, labels: bad } }), { store })).rejects.toThrow(
      'trainExpert: expected labels in [0, 3), got 3 at index 3',
    );
    const nan = images.dataSync().slice();
    nan[7] = Number.NaN;
    await expect(
      trainExpert(args({ train: { images: tf.tensor4d(nan, images.shape), labels } }), { store }),
    ).rejects.toThrow('trainExpert: training images contain NaN or Inf');
  });

  it('throws on a run id or expert index that cannot be a key', async () => {
    await expect(trainExpert(args({ runId: '../x' }), { store })).rejects.toThrow(
      `Invalid artifact key "../x/expert/0": a key must not contain '..' segments`,
    );
    await expect(trainExpert(args({ expert: -1 }), { store })).rejects.toThrow(
      'expert index: expected an integer >= 0, got -1',
    );
  });

  it('refuses to resume a state written by another recipe, naming the key', async () => {
    const s = createMemoryStore();
    const controller = new AbortController();
    await expect(
      trainExpert(args(), { store: s }, { signal: controller.signal, onEpoch: () => controller.abort() }),
    ).rejects.toThrow();
    const other = args({ experts: expertsConfig({ lr: 0.02 }) });
    const err = await trainExpert(other, { store: s }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactFormatError);
    expect((err as Error).message).toMatch(
      /^Artifact "run-a\/expert\/0\/state.safetensors" in memory:\/\/: expected expert 0 of run "run-a" trained with config digest [0-9a-f]{64}, found config digest [0-9a-f]{64} \(another model, data or experts config wrote it/,
    );
  });

  it('refuses a done marker of another recipe', async () => {
    const s = createMemoryStore();
    await trainExpert(args({ lastEpoch: 1 }), { store: s });
    await expect(trainExpert(args({ lastEpoch: 1, dataDigest: 'abc' }), { store: s })).rejects.toThrow(
      /^Artifact "run-a\/expert\/0\/complete.json" in memory:\/\/: expected expert 0 of run "run-a" trained with config digest/,
    );
  });

  it('stops with a clear error when training diverges to NaN, before storing the epoch', async () => {
    const s = createMemoryStore();
    const err = await trainExpert(args({ experts: expertsConfig({ lr: 1e30 }) }), { store: s }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(
      /^expert 0 of run "run-a" after epoch 1 \(training loss .*\): parameter \d+ is (NaN|-?Infinity) \(NaN or Inf\)$/,
    );
    expect(await s.exists(snapshotKey('run-a', 0, 1))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Float16 and reading back

describe('float16 snapshots', () => {
  it('hold exactly the float16 rounding of the float32 trajectory, in half the bytes', async () => {
    const s32 = createMemoryStore();
    const s16 = createMemoryStore();
    await trainExpert(args({ lastEpoch: 2 }), { store: s32 });
    await trainExpert(args({ lastEpoch: 2, experts: expertsConfig({ snapshotDtype: 'float16' }) }), {
      store: s16,
    });
    const p32 = await loadExpertPoints(s32, 'run-a', 0, [0, 1, 2]);
    const p16 = await loadExpertPoints(s16, 'run-a', 0, [0, 1, 2]);
    for (let e = 0; e < 3; e++) {
      expect(p16[e]).toBeInstanceOf(Float32Array);
      expect(p16[e]).toEqual(float16ArrayToFloat32(float32ArrayToFloat16(p32[e]!)));
      const b32 = (await s32.get(snapshotKey('run-a', 0, e))).length;
      const b16 = (await s16.get(snapshotKey('run-a', 0, e))).length;
      expect(b32 - b16).toBe(2 * 255); // same header length, 4 vs 2 bytes per parameter
    }
    // The resume state is float32 in both, so training continues at full precision.
    expect((await s16.get(stateKey('run-a', 0))).length).toBe((await s32.get(stateKey('run-a', 0))).length);
  });
});

describe('listCompleteExperts', () => {
  it('lists finished experts only, in index order', async () => {
    const store = createMemoryStore();
    await trainExpert(args({ expert: 10, lastEpoch: 1 }), { store });
    await trainExpert(args({ expert: 2, lastEpoch: 1 }), { store });
    const controller = new AbortController();
    await expect(
      trainExpert(
        args({ expert: 1 }),
        { store },
        { signal: controller.signal, onEpoch: () => controller.abort() },
      ),
    ).rejects.toThrow();
    await trainExpert(args({ runId: 'run-b', expert: 0, lastEpoch: 1 }), { store });
    const done = await listCompleteExperts(store, 'run-a');
    expect(done.map((m) => [m.expert, m.lastEpoch])).toEqual([
      [2, 1],
      [10, 1],
    ]);
    expect(await listCompleteExperts(store, 'run-none')).toEqual([]);
  });
});
