/**
 * The distillation loop (method.md A.2-A.5, A.7; I.1, I.2, I.12): mask schedule and admission, PyTorch SGD
 * momentum, the initial state, one iteration as a pure step, checkpoints, and runDistillation's resume,
 * evaluation schedule and an end-to-end toy run. Everything runs at toy size (ConvNet width 4 depth 2 on 8x8
 * images, P = 255 or 327) on the cpu backend.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import { distillSchema, type DistillConfig } from '../../shared/config/distill.ts';
import { covidIpc10, covidIpc50 } from '../../shared/config/presets/covid.ts';
import { pathmnistIpc10, pathmnistIpc100 } from '../../shared/config/presets/pathmnist.ts';
import type { ImageSet } from '../../shared/data/types.ts';
import { createLocalStore } from '../../shared/storage/local.ts';
import { createMemoryStore } from '../../shared/storage/memory.ts';
import type { ArtifactStore } from '../../shared/storage/store.ts';
import { maskThreshold, maskUtilization, updateMask } from '../../shared/method/distill/mask.ts';
import { sgdMomentum, sgdMomentumScalar } from '../../shared/method/distill/sgd.ts';
import { initialDistillState, type InitOptions } from '../../shared/method/distill/init.ts';
import {
  distillIteration,
  NonFiniteError,
  type ExpertSource,
} from '../../shared/method/distill/iteration.ts';
import {
  checkpointKey,
  decodeDistillState,
  encodeDistillState,
  restoreCheckpoint,
  saveCheckpoint,
} from '../../shared/method/distill/checkpoint.ts';
import { runDistillation, type DistillJob } from '../../shared/method/distill/run.ts';
import type { DistillState, IterationMetrics } from '../../shared/method/distill/state.ts';
import {
  TINY,
  TINY_RGB,
  fakeExperts,
  paramCount,
  tinyDistill,
  toyImageSet,
  trainedExperts,
  type RecordingExperts,
} from '../helpers/distill-fixtures.ts';

// ---------------------------------------------------------------------------------------------------------------
// Helpers

const P = paramCount(TINY); // 255

const initOptions = (
  distill: DistillConfig,
  experts: number[],
  overrides: Partial<InitOptions> = {},
): InitOptions => ({
  ipc: distill.ipc,
  init: distill.init,
  lrTeacher: distill.lrTeacher,
  paramCount: P,
  maskEnabled: distill.mask.enabled,
  experts,
  seed: distill.seed,
  ...overrides,
});

/** A mask schedule that admits some coordinates at iteration 0 and more at every later iteration. */
const GROWING_MASK = { enabled: true, baseThreshold: 2e-5, growingFactor: 2, growEvery: 1, recompute: false };

/** Runs `count` iterations from `state`, returning every state (the first is `state`) and every metrics record. */
async function iterate(
  state: DistillState,
  count: number,
  ctx: Parameters<typeof distillIteration>[1],
): Promise<{ states: DistillState[]; metrics: IterationMetrics[] }> {
  const states = [state];
  const metrics: IterationMetrics[] = [];
  for (let i = 0; i < count; i++) {
    const next = await distillIteration(states[states.length - 1]!, ctx);
    states.push(next.state);
    metrics.push(next.metrics);
  }
  return { states, metrics };
}

/** Element indices where two arrays differ. */
const differing = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) d++;
  return d;
};

/** An expert source that hands out `source`'s points after `edit` (e.g. NaN or overflowing targets). */
const editedExperts = (
  source: RecordingExperts,
  edit: (points: Float32Array[]) => Float32Array[],
): ExpertSource & { ids: number[] } => ({
  ids: source.ids,
  points: async (expert, epochs) => edit(await source.points(expert, epochs)),
});

const tempDirs: string[] = [];
const tempStore = (): ArtifactStore => {
  const dir = mkdtempSync(join(tmpdir(), 'hoptm-distill-'));
  tempDirs.push(dir);
  return createLocalStore({ root: dir });
};
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

// ---------------------------------------------------------------------------------------------------------------
// 1. Mask schedule and admission (method.md A.4 step 6, A.5, I.1)

describe('maskThreshold (method.md A.5)', () => {
  const schedule = (preset: { distill?: unknown }) => distillSchema.parse(preset.distill).mask;

  it('PathMNIST IPC10 (base 5e-9, factor 1.5, every 500): 5e-9 at 0-499, 2.88e-7 at 5000, 1.11e-5 at 9500-9999, 1.66e-5 at 10000', () => {
    const s = schedule(pathmnistIpc10);
    expect(s).toEqual({
      enabled: true,
      baseThreshold: 5e-9,
      growingFactor: 1.5,
      growEvery: 500,
      recompute: false,
    });
    for (const it of [0, 1, 250, 499]) expect(maskThreshold(it, s)).toBe(5e-9);
    expect(maskThreshold(500, s)).toBeCloseTo(7.5e-9, 20);
    expect(maskThreshold(5000, s) / 2.88e-7).toBeCloseTo(1, 2);
    expect(maskThreshold(5499, s)).toBe(maskThreshold(5000, s));
    for (const it of [9500, 9999]) expect(maskThreshold(it, s) / 1.11e-5).toBeCloseTo(1, 2);
    expect(maskThreshold(10000, s) / 1.66e-5).toBeCloseTo(1, 2);
    expect(maskThreshold(10000, s)).toBe(1.5 ** 20 * 5e-9);
  });

  it('PathMNIST IPC100 (base 5e-8): 5e-8, 2.88e-6 at 5000, 1.66e-4 at 10000', () => {
    const s = schedule(pathmnistIpc100);
    expect(maskThreshold(0, s)).toBe(5e-8);
    expect(maskThreshold(5000, s) / 2.88e-6).toBeCloseTo(1, 2);
    expect(maskThreshold(10000, s) / 1.66e-4).toBeCloseTo(1, 2);
  });

  it('COVID IPC50 (base 1e-10, factor 1.6): 1e-10 at 0-499, 1.10e-8 at 5000, 7.56e-7 at 9500-9999, 1.21e-6 at 10000', () => {
    const s = schedule(covidIpc50);
    expect(s.baseThreshold).toBe(1e-10);
    expect(s.growingFactor).toBe(1.6);
    for (const it of [0, 499]) expect(maskThreshold(it, s)).toBe(1e-10);
    expect(maskThreshold(5000, s) / 1.1e-8).toBeCloseTo(1, 2);
    for (const it of [9500, 9999]) expect(maskThreshold(it, s) / 7.56e-7).toBeCloseTo(1, 2);
    expect(maskThreshold(10000, s) / 1.21e-6).toBeCloseTo(1, 2);
  });

  it('COVID IPC10 (base 1e-10, factor 1.3): 1.38e-9 at 5000, 1.46e-8 at 9999, 1.90e-8 at 10000', () => {
    const s = schedule(covidIpc10);
    expect(maskThreshold(5000, s) / 1.38e-9).toBeCloseTo(1, 2);
    expect(maskThreshold(9999, s) / 1.46e-8).toBeCloseTo(1, 2);
    expect(maskThreshold(10000, s) / 1.9e-8).toBeCloseTo(1, 2);
  });
});

describe('updateMask / maskUtilization (method.md A.4 step 6, I.1)', () => {
  const err = (values: number[]) => Float32Array.from(values);

  it('cumulative: admits e < tau (strictly), keeps every earlier admission, never switches off', () => {
    const m0 = Uint8Array.from([0, 1, 0, 0, 0]);
    const m1 = updateMask(m0, err([0.5, 0.9, 0.1, 0.3, 0.2999]), 0.3, false);
    expect(Array.from(m1)).toEqual([0, 1, 1, 0, 1]);
    // Every error is now large: nothing is switched off.
    const m2 = updateMask(m1, err([9, 9, 9, 9, 9]), 0.3, false);
    expect(Array.from(m2)).toEqual([0, 1, 1, 0, 1]);
    // NaN never passes the test.
    expect(Array.from(updateMask(m2, err([NaN, NaN, NaN, NaN, NaN]), 1, false))).toEqual([0, 1, 1, 0, 1]);
    // Pure: the inputs are untouched and the result is a new array.
    expect(Array.from(m0)).toEqual([0, 1, 0, 0, 0]);
    expect(m1).not.toBe(m0);
  });

  it('recompute: the mask is this iteration test alone (earlier admissions can switch off)', () => {
    const m0 = Uint8Array.from([1, 1, 0, 0]);
    expect(Array.from(updateMask(m0, err([0.5, 0.1, 0.2, 0.9]), 0.3, true))).toEqual([0, 1, 1, 0]);
    expect(Array.from(m0)).toEqual([1, 1, 0, 0]);
  });

  it('throws when the mask and the squared error differ in length', () => {
    expect(() => updateMask(new Uint8Array(3), new Float32Array(4), 1, false)).toThrow(
      /mask has 3 entries but the squared error has 4/,
    );
  });

  it('maskUtilization is the admitted fraction', () => {
    expect(maskUtilization(Uint8Array.from([1, 0, 1, 1]))).toBe(0.75);
    expect(maskUtilization(new Uint8Array(10))).toBe(0);
    expect(maskUtilization(new Uint8Array(7).fill(1))).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. PyTorch SGD with momentum (method.md A.2)

describe('sgdMomentum / sgdMomentumScalar (torch.optim.SGD, dampening 0, no Nesterov)', () => {
  it('hand-computed steps: buf = g on the first step, then mu*buf + g; p -= lr*buf', () => {
    const p0 = Float32Array.from([1, -2, 0.5]);
    const g1 = Float32Array.from([0.5, 0.25, -1]);
    const s1 = sgdMomentum(p0, g1, null, 0.5, 0.5);
    expect(Array.from(s1.buf)).toEqual([0.5, 0.25, -1]);
    expect(Array.from(s1.param)).toEqual([0.75, -2.125, 1]);
    const s2 = sgdMomentum(s1.param, Float32Array.from([1, -1, 0]), s1.buf, 0.5, 0.5);
    expect(Array.from(s2.buf)).toEqual([1.25, -0.875, -0.5]);
    expect(Array.from(s2.param)).toEqual([0.125, -1.6875, 1.25]);
    // Pure: nothing passed in changed, and the buffer is not the gradient itself.
    expect(Array.from(p0)).toEqual([1, -2, 0.5]);
    expect(Array.from(g1)).toEqual([0.5, 0.25, -1]);
    expect(s1.buf).not.toBe(g1);
    expect(s1.param).toBeInstanceOf(Float32Array);
    expect(s1.buf).toBeInstanceOf(Float32Array);
  });

  it('matches a float64 loop of the PyTorch recurrence over 5 steps (float32 rounding)', () => {
    const lr = 10;
    const mu = 0.5;
    let param: Float32Array = Float32Array.from([0.3, -1.7, 2.2, 0]);
    let buf: Float32Array | null = null;
    const ref = Array.from(param, Number);
    let refBuf: number[] | null = null;
    for (let t = 0; t < 5; t++) {
      const grad = Float32Array.from([
        0.011 * (t + 1),
        -0.03 / (t + 1),
        Math.fround(Math.sin(t)) * 1e-3,
        1e-4,
      ]);
      ({ param, buf } = sgdMomentum(param, grad, buf, lr, mu));
      const b: number[] =
        refBuf === null ? Array.from(grad, Number) : refBuf.map((v, i) => mu * v + grad[i]!);
      refBuf = b;
      ref.forEach((v, i) => (ref[i] = v - lr * b[i]!));
    }
    ref.forEach((v, i) => expect(param[i]).toBeCloseTo(v, 5));
    refBuf!.forEach((v, i) => expect(buf![i]).toBeCloseTo(v, 7));
  });

  it('momentum 0 is plain SGD', () => {
    const s1 = sgdMomentum(
      Float32Array.from([1]),
      Float32Array.from([0.5]),
      Float32Array.from([100]),
      0.25,
      0,
    );
    expect(Array.from(s1.param)).toEqual([0.875]);
    expect(Array.from(s1.buf)).toEqual([0.5]);
  });

  it('the scalar update (learnable lr): same recurrence, in float64', () => {
    const s1 = sgdMomentumScalar(0.01, 2, null, 1e-5, 0.5);
    expect(s1).toEqual({ param: 0.01 - 1e-5 * 2, buf: 2 });
    const s2 = sgdMomentumScalar(s1.param, -3, s1.buf, 1e-5, 0.5);
    expect(s2.buf).toBe(0.5 * 2 - 3);
    expect(s2.param).toBe(s1.param - 1e-5 * -2);
  });

  it('throws when the parameter, gradient and momentum sizes differ', () => {
    expect(() => sgdMomentum(new Float32Array(3), new Float32Array(2), null, 1, 0.5)).toThrow(
      /parameter \(3\), gradient \(2\)/,
    );
    expect(() => sgdMomentum(new Float32Array(3), new Float32Array(3), new Float32Array(4), 1, 0.5)).toThrow(
      /momentum \(4\) sizes differ/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 3. The initial state (method.md A.2)

describe('initialDistillState (method.md A.2)', () => {
  const train = toyImageSet(TINY_RGB, 5); // 15 distinct images, labels 0,1,2,0,1,2,...
  const pixels = 8 * 8 * 3;
  const base = {
    ipc: 3,
    init: 'real' as const,
    lrTeacher: 0.01,
    paramCount: 327,
    maskEnabled: true,
    experts: [4, 7, 9],
    seed: 11,
  };

  /** The train index whose image equals row r of the synthetic set (-1 if none). */
  const sourceOf = (state: DistillState, r: number): number => {
    const row = state.images.subarray(r * pixels, (r + 1) * pixels);
    for (let i = 0; i < train.n; i++)
      if (differing(row, train.images.subarray(i * pixels, (i + 1) * pixels)) === 0) return i;
    return -1;
  };

  it('ipc=3, 3 classes, 8x8x3: class-major labels; each class rows are distinct real images of that class', () => {
    const s = initialDistillState(train, 3, base);
    expect(Array.from(s.labels)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
    expect(s.labels).toBeInstanceOf(Int32Array);
    expect(s.imageShape).toEqual([9, 8, 8, 3]);
    expect(s.images.length).toBe(9 * pixels);
    for (let c = 0; c < 3; c++) {
      const sources = [0, 1, 2].map((j) => sourceOf(s, c * 3 + j));
      sources.forEach((i) => expect(i, `row of class ${c} is a training image`).toBeGreaterThanOrEqual(0));
      sources.forEach((i) => expect(train.labels[i], `row of class ${c} comes from class ${c}`).toBe(c));
      expect(new Set(sources).size, `class ${c} drawn without replacement`).toBe(3);
    }
    expect(s).toMatchObject({ iteration: 0, lr: 0.01, imagesMomentum: null, lrMomentum: null, best: null });
    expect(s.expertCursor.position).toBe(0);
    expect([...s.expertCursor.order].sort((a, b) => a - b)).toEqual([4, 7, 9]);
    expect(s.rng).toHaveLength(4);
  });

  it('is deterministic in the seed, and different seeds choose different images', () => {
    const a = initialDistillState(train, 3, base);
    expect(encodeDistillState(initialDistillState(train, 3, base))).toEqual(encodeDistillState(a));
    const choices = new Set(
      [11, 12, 13, 14, 15].map((seed) => {
        const s = initialDistillState(train, 3, { ...base, seed });
        return Array.from({ length: 9 }, (_, r) => sourceOf(s, r)).join(',');
      }),
    );
    expect(choices.size).toBeGreaterThan(1);
  });

  it('ipc=1 takes one image per class; ipc equal to the class size takes all of them', () => {
    const one = initialDistillState(train, 3, { ...base, ipc: 1 });
    expect(Array.from(one.labels)).toEqual([0, 1, 2]);
    [0, 1, 2].forEach((c) => expect(train.labels[sourceOf(one, c)]).toBe(c));
    const all = initialDistillState(train, 3, { ...base, ipc: 5 });
    const sources = Array.from({ length: 15 }, (_, r) => sourceOf(all, r));
    expect([...sources].sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i));
  });

  it('noise init: N(0,1) draws (mean ~0, std ~1), none copied from the training set', () => {
    const s = initialDistillState(train, 3, { ...base, init: 'noise', ipc: 20 }); // 60 x 192 = 11 520 draws; fewer real images than ipc is fine
    const values = Array.from(s.images);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(std - 1)).toBeLessThan(0.05);
    expect(values.filter((v) => Math.abs(v) > 2).length / values.length).toBeCloseTo(0.0455, 1.5);
    expect(values.every(Number.isFinite)).toBe(true);
    expect(sourceOf(s, 0)).toBe(-1);
    expect(Array.from(s.labels.slice(0, 21))).toEqual([...Array(20).fill(0), 1]);
  });

  it('throws when a class has fewer training images than ipc', () => {
    const short: ImageSet = {
      ...train,
      n: 13,
      images: train.images.slice(0, 13 * pixels),
      labels: train.labels.slice(0, 13),
    }; // classes 5, 4, 4
    expect(() => initialDistillState(short, 3, { ...base, ipc: 5 })).toThrow(
      /class 1 has 4 training images, fewer than ipc=5/,
    );
    expect(() => initialDistillState(short, 3, { ...base, ipc: 4 })).not.toThrow();
    expect(() => initialDistillState(train, 4, { ...base, ipc: 1 })).toThrow(/class 3 has 0 training images/);
  });

  it('throws when there are no experts to match', () => {
    expect(() => initialDistillState(train, 3, { ...base, experts: [] })).toThrow(
      /no complete expert trajectories/,
    );
  });

  it('the mask is all zeros when enabled and all ones when disabled, one entry per parameter', () => {
    const on = initialDistillState(train, 3, base);
    expect(on.mask).toBeInstanceOf(Uint8Array);
    expect(on.mask.length).toBe(327);
    expect(on.mask.every((v) => v === 0)).toBe(true);
    const off = initialDistillState(train, 3, { ...base, maskEnabled: false });
    expect(off.mask.length).toBe(327);
    expect(off.mask.every((v) => v === 1)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 4. One iteration (method.md A.4)

describe('distillIteration (method.md A.4): ConvNet w4 d2, 8x8x1, 3 classes x ipc 2, N=3', () => {
  const train = toyImageSet(TINY, 4);
  const ids = [3, 5, 8];

  it('start in [min, max) (max exclusive), mid = start + M//2, target = start + M; the expert cursor walks the order and reshuffles', async () => {
    const experts = fakeExperts(TINY, ids, 8);
    const distill = tinyDistill({ expertEpochs: 3, minStartEpoch: 1, maxStartEpoch: 3, mask: GROWING_MASK });
    const s0 = initialDistillState(train, 3, initOptions(distill, ids));
    const { states, metrics } = await iterate(s0, 8, { cfg: TINY, distill, experts });

    expect(experts.requests).toHaveLength(8);
    const starts = experts.requests.map((r) => r.epochs[0]!);
    experts.requests.forEach((r, k) => {
      const s = r.epochs[0]!;
      expect(s).toBeGreaterThanOrEqual(1);
      expect(s).toBeLessThan(3);
      expect(r.epochs).toEqual([s, s + 1, s + 3]); // M = 3: mid = start + 1 (method.md I.5)
      expect(metrics[k]!.startEpoch).toBe(s);
      expect(metrics[k]!.expert).toBe(r.expert);
      expect(metrics[k]!.iteration).toBe(k);
    });
    expect(new Set(starts)).toEqual(new Set([1, 2]));

    // The cursor: order[0..2], then a fresh permutation of the same ids, consumed in turn.
    const order0 = s0.expertCursor.order;
    expect(experts.requests.slice(0, 3).map((r) => r.expert)).toEqual(order0);
    expect(states.slice(0, 4).map((s) => s.expertCursor.position)).toEqual([0, 1, 2, 0]);
    const order1 = states[3]!.expertCursor.order;
    expect([...order1].sort((a, b) => a - b)).toEqual(ids);
    expect(experts.requests.slice(3, 6).map((r) => r.expert)).toEqual(order1);
    expect(states[1]!.expertCursor.order).toBe(order0); // unchanged within a cycle
    const order2 = states[6]!.expertCursor.order;
    expect(experts.requests.slice(6, 8).map((r) => r.expert)).toEqual(order2.slice(0, 2));
    // Each cycle draws a new order (with this seed the three orders are not all the same).
    expect(new Set([order0, order1, order2].map((o) => o.join(','))).size).toBeGreaterThan(1);
  });

  it('M = 2: mid = start + 1 and target = start + 2, start in {0, 1, 2} for maxStartEpoch 3', async () => {
    const experts = fakeExperts(TINY, [0], 5);
    const distill = tinyDistill({
      expertEpochs: 2,
      minStartEpoch: 0,
      maxStartEpoch: 3,
      synSteps: 2,
      mask: GROWING_MASK,
    });
    await iterate(initialDistillState(train, 3, initOptions(distill, [0])), 10, {
      cfg: TINY,
      distill,
      experts,
    });
    for (const r of experts.requests) {
      const s = r.epochs[0]!;
      expect([0, 1, 2]).toContain(s);
      expect(r.epochs).toEqual([s, s + 1, s + 2]);
    }
    expect(new Set(experts.requests.map((r) => r.epochs[0]))).toEqual(new Set([0, 1, 2]));
  });

  it('updates images and lr by SGD+momentum, grows the mask monotonically, leaves its input untouched, leaks no tensors', async () => {
    const experts = fakeExperts(TINY, ids, 8);
    const distill = tinyDistill({ mask: GROWING_MASK });
    const s0 = initialDistillState(train, 3, initOptions(distill, ids));
    const copy = structuredClone(s0);
    const bytes0 = encodeDistillState(s0);
    const tensors = tf.memory().numTensors;
    const { states, metrics } = await iterate(s0, 5, { cfg: TINY, distill, experts });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(s0).toEqual(copy);
    expect(encodeDistillState(s0)).toEqual(bytes0);

    for (let k = 0; k < 5; k++) {
      const [before, after, m] = [states[k]!, states[k + 1]!, metrics[k]!];
      expect(after.iteration).toBe(k + 1);
      expect(after.labels).toEqual(before.labels);
      expect(after.imageShape).toEqual(before.imageShape);
      expect(differing(after.images, before.images), `iteration ${k} changes the images`).toBeGreaterThan(0);
      expect(after.lr).not.toBe(before.lr);
      expect(after.rng).not.toEqual(before.rng);
      // PyTorch momentum: buf_1 = g (so the stored momentum is the gradient), buf_k = mu buf_{k-1} + g; p -= lr buf.
      const lrBuf = k === 0 ? m.gradLr : 0.5 * before.lrMomentum! + m.gradLr;
      expect(after.lrMomentum).toBe(lrBuf);
      expect(after.lr).toBe(before.lr - distill.lrLr * lrBuf);
      expect(m.lr).toBe(before.lr);
      const buf = after.imagesMomentum!;
      expect(buf).toBeInstanceOf(Float32Array);
      for (let i = 0; i < buf.length; i += 17)
        expect(after.images[i]).toBe(Math.fround(before.images[i]! - distill.lrImg * buf[i]!));
      // The mask only grows, and is what the metrics report.
      for (let i = 0; i < P; i++) if (before.mask[i] === 1) expect(after.mask[i]).toBe(1);
      expect(m.utilization).toBe(maskUtilization(after.mask));
      expect(m.threshold).toBe(maskThreshold(k, distill.mask));
      // Figures are finite, and the loss is the sum of its terms.
      for (const key of [
        'paramLoss',
        'shapeLoss',
        'loss',
        'utilization',
        'threshold',
        'lr',
        'gradLr',
        'ms',
      ] as const) {
        expect(Number.isFinite(m[key]), `${key} = ${m[key]}`).toBe(true);
      }
      expect(m.loss).toBeCloseTo(m.paramLoss + m.shapeLoss, 12);
      expect(m.shapeLoss).toBeGreaterThan(0);
    }
    expect(s0.imagesMomentum).toBeNull();
    const util = metrics.map((m) => m.utilization);
    expect(util[0]).toBeGreaterThan(0);
    expect(util[4]).toBeGreaterThan(util[0]!);
    expect(util[4], `utilization ${util.join(', ')}`).toBeLessThan(1);
    util.slice(1).forEach((u, k) => expect(u).toBeGreaterThanOrEqual(util[k]!));
    // Admissions count in the iteration that makes them (A.4 step 6): the very first loss is not 0/0.
    expect(metrics[0]!.maskEmpty).toBe(false);
    expect(metrics[0]!.paramLoss).toBeGreaterThan(0);
  });

  it('is a pure function of (state, config, experts): the same input gives bit-identical output', async () => {
    const distill = tinyDistill({ mask: GROWING_MASK });
    const s0 = initialDistillState(train, 3, initOptions(distill, ids));
    const a = await distillIteration(s0, { cfg: TINY, distill, experts: fakeExperts(TINY, ids, 8) });
    const b = await distillIteration(s0, { cfg: TINY, distill, experts: fakeExperts(TINY, ids, 8) });
    expect(encodeDistillState(b.state)).toEqual(encodeDistillState(a.state));
    expect({ ...b.metrics, ms: 0 }).toEqual({ ...a.metrics, ms: 0 });
  });

  it('an empty mask (nothing admitted yet) gives a zero parameter loss, not 0/0 (I.2), and still updates', async () => {
    const distill = tinyDistill({ mask: { ...GROWING_MASK, baseThreshold: 1e-30, growingFactor: 1 } });
    const s0 = initialDistillState(train, 3, initOptions(distill, ids));
    const { states, metrics } = await iterate(s0, 1, {
      cfg: TINY,
      distill,
      experts: fakeExperts(TINY, ids, 8),
    });
    expect(metrics[0]).toMatchObject({ maskEmpty: true, paramLoss: 0, utilization: 0 });
    expect(metrics[0]!.shapeLoss).toBeGreaterThan(0);
    expect(differing(states[1]!.images, s0.images)).toBeGreaterThan(0);
  });

  it('mask.enabled = false: v = 1 throughout (utilization 1, the MTT loss)', async () => {
    const distill = tinyDistill({ mask: { ...GROWING_MASK, enabled: false } });
    const s0 = initialDistillState(train, 3, initOptions(distill, ids));
    const { states, metrics } = await iterate(s0, 3, {
      cfg: TINY,
      distill,
      experts: fakeExperts(TINY, ids, 8),
    });
    metrics.forEach((m) => {
      expect(m.utilization).toBe(1);
      expect(m.maskEmpty).toBe(false);
      expect(m.paramLoss).toBeGreaterThan(0);
    });
    states.forEach((s) => expect(s.mask.every((v) => v === 1)).toBe(true));
  });

  it('mask.recompute = true: the mask is recomputed each iteration (utilization need not be monotone), still 0/1', async () => {
    const distill = tinyDistill({ mask: { ...GROWING_MASK, growingFactor: 1, recompute: true } });
    const s0 = initialDistillState(train, 3, initOptions(distill, ids));
    const { states, metrics } = await iterate(s0, 4, {
      cfg: TINY,
      distill,
      experts: fakeExperts(TINY, ids, 8),
    });
    states.forEach((s) => expect(s.mask.every((v) => v === 0 || v === 1)).toBe(true));
    metrics.forEach((m, k) => expect(m.utilization).toBe(maskUtilization(states[k + 1]!.mask)));
    // Some coordinate admitted at one iteration is dropped at a later one (the cumulative mask never does this).
    const dropped = states
      .slice(1, -1)
      .some((s, k) => s.mask.some((v, i) => v === 1 && states[k + 2]!.mask[i] === 0));
    expect(dropped).toBe(true);
  });

  describe('throws NonFiniteError and returns no state', () => {
    const experts = fakeExperts(TINY, ids, 8);

    it('when the expert points overflow float32 in the loss (target = start + 1e30)', async () => {
      const distill = tinyDistill({ mask: { ...GROWING_MASK, enabled: false } });
      const s0 = initialDistillState(train, 3, initOptions(distill, ids));
      const overflowing = editedExperts(experts, ([start, mid, target]) => [
        start!,
        mid!,
        target!.map((v) => v + 1e30),
      ]);
      const tensors = tf.memory().numTensors;
      const run = distillIteration(s0, { cfg: TINY, distill, experts: overflowing });
      await expect(run).rejects.toBeInstanceOf(NonFiniteError);
      await expect(run).rejects.toThrow(
        /iteration 0 \(expert \d, start epoch \d\) produced a non-finite loss or gradient.*state was not updated/,
      );
      expect(tf.memory().numTensors).toBe(tensors);
    });

    it('when the learnable lr is so large that the student diverges (lr 1e30)', async () => {
      const distill = tinyDistill({ lrTeacher: 1e30, mask: GROWING_MASK });
      const s0 = initialDistillState(train, 3, initOptions(distill, ids));
      await expect(distillIteration(s0, { cfg: TINY, distill, experts })).rejects.toBeInstanceOf(
        NonFiniteError,
      );
    });

    it('when lrImg is so large that the image update overflows float32 (lrImg 1e300)', async () => {
      const distill = tinyDistill({ lrImg: 1e300, mask: GROWING_MASK });
      const s0 = initialDistillState(train, 3, initOptions(distill, ids));
      const tensors = tf.memory().numTensors;
      const run = distillIteration(s0, { cfg: TINY, distill, experts });
      await expect(run).rejects.toBeInstanceOf(NonFiniteError);
      await expect(run).rejects.toThrow(/lrImg 1e\+300.*non-finite images or lr/);
      expect(tf.memory().numTensors).toBe(tensors);
    });

    it('when lrLr is so large that the lr update overflows (lrLr 1e308)', async () => {
      const distill = tinyDistill({ lrLr: 1e308, mask: GROWING_MASK });
      const s0 = initialDistillState(train, 3, initOptions(distill, ids));
      await expect(distillIteration(s0, { cfg: TINY, distill, experts })).rejects.toBeInstanceOf(
        NonFiniteError,
      );
    });
  });

  it('rejects NaN expert points, naming them, without leaking tensors', async () => {
    const distill = tinyDistill({ mask: GROWING_MASK });
    const s0 = initialDistillState(train, 3, initOptions(distill, ids));
    const nan = editedExperts(fakeExperts(TINY, ids, 8), ([start, mid, target]) => [
      start!,
      mid!,
      target!.fill(NaN),
    ]);
    const tensors = tf.memory().numTensors;
    await expect(distillIteration(s0, { cfg: TINY, distill, experts: nan })).rejects.toThrow(
      /expert target contain NaN or Inf/,
    );
    expect(tf.memory().numTensors).toBe(tensors);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 5. Checkpoints (method.md A.7; style.md 5: one state value, step-named objects, a manifest, keep 3)

describe('distill checkpoints', () => {
  const train = toyImageSet(TINY, 4);
  const ids = [2, 6];
  const distill = tinyDistill({ mask: GROWING_MASK });
  const s0 = initialDistillState(train, 3, initOptions(distill, ids));
  let s1: DistillState | undefined;
  const afterOne = async (): Promise<DistillState> =>
    (s1 ??= (await distillIteration(s0, { cfg: TINY, distill, experts: fakeExperts(TINY, ids, 6) })).state);

  it('encode/decode round-trips iteration 0 exactly (null momentum, rng state, empty mask)', () => {
    const bytes = encodeDistillState(s0);
    const back = decodeDistillState(bytes, 'test/000000.ckpt');
    expect(back).toEqual(s0);
    expect(back.imagesMomentum).toBeNull();
    expect(back.lrMomentum).toBeNull();
    expect(back.rng).toEqual(s0.rng);
    expect(back.images).toBeInstanceOf(Float32Array);
    expect(back.labels).toBeInstanceOf(Int32Array);
    expect(back.mask).toBeInstanceOf(Uint8Array);
    expect(encodeDistillState(back)).toEqual(bytes);
  });

  it('round-trips a later state exactly: momentum buffers, float64 lr, grown mask, cursor, the selected set', async () => {
    const one = await afterOne();
    const s = {
      ...one,
      lr: 0.1 + 0.2,
      lrMomentum: -1 / 3,
      best: {
        iteration: 500,
        accuracy: 0.8137,
        lr: 0.02 + 1e-12,
        images: one.images.map((v) => v * 0.5 + 1),
      },
    };
    expect(s.imagesMomentum).not.toBeNull();
    const back = decodeDistillState(encodeDistillState(s), 'k');
    expect(back).toEqual(s);
    expect(back.lr).toBe(0.30000000000000004);
    expect(differing(back.images, s.images) + differing(back.imagesMomentum!, s.imagesMomentum!)).toBe(0);
    expect(differing(back.best!.images, s.best.images)).toBe(0);
    expect(back.best!.lr).toBe(0.02 + 1e-12);
  });

  it('saveCheckpoint writes step-named objects, keeps the newest 3, and advances latest.json', async () => {
    const store = createMemoryStore();
    const prefix = 'run-1/distill/s0';
    const other = 'run-1/distill/s1';
    await saveCheckpoint(store, other, { ...s0, iteration: 1 });
    const keys: string[] = [];
    for (const iteration of [2, 4, 6, 8, 10]) {
      keys.push(await saveCheckpoint(store, prefix, { ...s0, iteration }));
      expect((await restoreCheckpoint(store, prefix))!.iteration).toBe(iteration);
    }
    expect(keys).toEqual([2, 4, 6, 8, 10].map((i) => checkpointKey(prefix, i)));
    expect(keys[0]).toBe('run-1/distill/s0/checkpoint/000002.ckpt');
    expect(await store.list(`${prefix}/checkpoint`)).toEqual([
      `${prefix}/checkpoint/000006.ckpt`,
      `${prefix}/checkpoint/000008.ckpt`,
      `${prefix}/checkpoint/000010.ckpt`,
      `${prefix}/checkpoint/latest.json`,
    ]);
    expect(JSON.parse(new TextDecoder().decode(await store.get(`${prefix}/checkpoint/latest.json`)))).toEqual(
      { iteration: 10, key: keys[4] },
    );
    // Another stage's checkpoints are neither pruned nor read.
    expect(await store.list(`${other}/checkpoint`)).toEqual([
      `${other}/checkpoint/000001.ckpt`,
      `${other}/checkpoint/latest.json`,
    ]);
    expect((await restoreCheckpoint(store, other))!.iteration).toBe(1);
    // Saving the same iteration again (a retried save) is not an error; keep = 1 prunes harder.
    await saveCheckpoint(store, prefix, { ...s0, iteration: 10 });
    await saveCheckpoint(store, prefix, { ...s0, iteration: 12 }, 1);
    expect(await store.list(`${prefix}/checkpoint`)).toEqual([
      `${prefix}/checkpoint/000012.ckpt`,
      `${prefix}/checkpoint/latest.json`,
    ]);
  });

  it('restoreCheckpoint returns null for a fresh prefix and the exact saved state otherwise (local store)', async () => {
    const store = tempStore();
    expect(await restoreCheckpoint(store, 'fresh/distill/s0')).toBeNull();
    const s = await afterOne();
    await saveCheckpoint(store, 'fresh/distill/s0', s);
    expect(await restoreCheckpoint(store, 'fresh/distill/s0')).toEqual(s);
    expect(await restoreCheckpoint(store, 'fresh/distill/s1')).toBeNull();
  });

  it('a truncated checkpoint gives an error naming its key', async () => {
    const store = createMemoryStore();
    const key = await saveCheckpoint(store, 'run/distill/s0', await afterOne());
    const bytes = await store.get(key);
    await store.put(key, bytes.slice(0, bytes.length - 100));
    await expect(restoreCheckpoint(store, 'run/distill/s0')).rejects.toThrow(
      'run/distill/s0/checkpoint/000001.ckpt',
    );
    await store.put(key, bytes.slice(0, 5));
    await expect(restoreCheckpoint(store, 'run/distill/s0')).rejects.toThrow(
      /run\/distill\/s0\/checkpoint\/000001\.ckpt: expected a safetensors file/,
    );
  });

  it('a checkpoint missing latest.json target or with bad metadata fails loudly', async () => {
    const store = createMemoryStore();
    const key = await saveCheckpoint(store, 'run/distill/s0', s0);
    await store.delete(key);
    await expect(restoreCheckpoint(store, 'run/distill/s0')).rejects.toThrow(key);
    expect(() => decodeDistillState(encodeDistillState({ ...s0, iteration: -1 }), 'bad.ckpt')).toThrow(
      /bad\.ckpt: invalid state metadata/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 6-8. runDistillation: resume, evaluation schedule, end to end

describe('runDistillation', () => {
  const train = toyImageSet(TINY, 4);
  const ids = [0, 1, 2];
  const job = (
    distill: DistillConfig,
    experts: RecordingExperts = fakeExperts(TINY, ids, 8),
  ): DistillJob & { experts: RecordingExperts } => ({
    prefix: 'run-7/distill/stage-0',
    cfg: TINY,
    distill,
    train,
    numClasses: 3,
    experts,
  });
  const RESUME = tinyDistill({ iterations: 5, checkpointEvery: 2, mask: GROWING_MASK });

  /** Runs straight through once, for comparison (iterations 0..5: 6 updates). */
  let straight:
    | {
        state: DistillState;
        bytes: Uint8Array;
        iterations: number[];
        checkpoints: number[];
        requests: RecordingExperts['requests'];
      }
    | undefined;
  const straightRun = async () => {
    if (straight) return straight;
    const j = job(RESUME);
    const iterations: number[] = [];
    const checkpoints: number[] = [];
    const state = await runDistillation(j, createMemoryStore(), {
      onIteration: (m) => void iterations.push(m.iteration),
      onCheckpoint: (_key, s) => void checkpoints.push(s.iteration),
    });
    straight = {
      state,
      bytes: encodeDistillState(state),
      iterations,
      checkpoints,
      requests: j.experts.requests,
    };
    return straight;
  };

  it('runs iterations 0..iterations inclusive, checkpointing every checkpointEvery and at the end', async () => {
    const tensors = tf.memory().numTensors;
    const s = await straightRun();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(s.state.iteration).toBe(6);
    expect(s.iterations).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s.checkpoints).toEqual([2, 4, 6]);
    const odd = job(tinyDistill({ iterations: 4, checkpointEvery: 3, mask: GROWING_MASK }));
    const store = createMemoryStore();
    const checkpoints: number[] = [];
    await runDistillation(odd, store, { onCheckpoint: (_k, st) => void checkpoints.push(st.iteration) });
    expect(checkpoints).toEqual([3, 5]);
    expect((await restoreCheckpoint(store, odd.prefix))!.iteration).toBe(5);
  });

  it('resume after an abort (AbortSignal after iteration 3) is bit-identical to a straight run', async () => {
    const s = await straightRun();
    const store = createMemoryStore();
    const controller = new AbortController();
    const first: number[] = [];
    await expect(
      runDistillation(job(RESUME), store, {
        signal: controller.signal,
        onIteration: (m) => {
          first.push(m.iteration);
          if (m.iteration === 3) controller.abort();
        },
      }),
    ).rejects.toThrow(/abort/i);
    expect(first).toEqual([0, 1, 2, 3]);
    expect((await restoreCheckpoint(store, 'run-7/distill/stage-0'))!.iteration).toBe(4);

    const second: number[] = [];
    const resumedJob = job(RESUME);
    const resumed = await runDistillation(resumedJob, store, {
      onIteration: (m) => void second.push(m.iteration),
    });
    expect(second).toEqual([4, 5]);
    expect(resumedJob.experts.requests).toEqual(s.requests.slice(4));
    expect(encodeDistillState(resumed)).toEqual(s.bytes);
  });

  it('resume after a throwing hook (iteration 2, past the last checkpoint) redoes iteration 2 bit-identically (local store)', async () => {
    const s = await straightRun();
    const store = tempStore();
    await expect(
      runDistillation(job(RESUME), store, {
        onIteration: (m) => {
          if (m.iteration === 2) throw new Error('worker lost at iteration 2');
        },
      }),
    ).rejects.toThrow('worker lost at iteration 2');
    expect((await restoreCheckpoint(store, 'run-7/distill/stage-0'))!.iteration).toBe(2);

    const second: number[] = [];
    const resumed = await runDistillation(job(RESUME), store, {
      onIteration: (m) => void second.push(m.iteration),
    });
    expect(second).toEqual([2, 3, 4, 5]);
    expect(encodeDistillState(resumed)).toEqual(s.bytes);

    // Calling it once more finds the final checkpoint and runs nothing.
    let ran = 0;
    const again = await runDistillation(job(RESUME), store, { onIteration: () => void ran++ });
    expect(ran).toBe(0);
    expect(encodeDistillState(again)).toEqual(s.bytes);
  });

  it('an already-aborted signal runs nothing and writes nothing', async () => {
    const store = createMemoryStore();
    await expect(runDistillation(job(RESUME), store, { signal: AbortSignal.abort() })).rejects.toThrow(
      /abort/i,
    );
    expect(await store.list('')).toEqual([]);
  });

  it("evaluates at evalEvery, 2*evalEvery, ... (never at 0, also at the last iteration), before that update, and keeps the winning point's set", async () => {
    const distill = tinyDistill({ iterations: 6, evalEvery: 2, checkpointEvery: 4, mask: GROWING_MASK });
    const accuracies: Record<number, number> = { 2: 0.5, 4: 0.7, 6: 0.6 };
    const log: string[] = [];
    const seenBest: (Pick<NonNullable<DistillState['best']>, 'iteration' | 'accuracy'> | null)[] = [];
    const evaluated = new Map<number, { images: Float32Array; lr: number }>();
    const store = createMemoryStore();
    const final = await runDistillation(job(distill), store, {
      evaluate: async (state) => {
        log.push(`evaluate ${state.iteration}`);
        seenBest.push(state.best && { iteration: state.best.iteration, accuracy: state.best.accuracy });
        evaluated.set(state.iteration, { images: state.images.slice(), lr: state.lr });
        return accuracies[state.iteration]!;
      },
      onIteration: (m) => void log.push(`update ${m.iteration}`),
    });
    expect(log).toEqual([
      'update 0',
      'update 1',
      'evaluate 2',
      'update 2',
      'update 3',
      'evaluate 4',
      'update 4',
      'update 5',
      'evaluate 6',
      'update 6',
    ]);
    expect(seenBest).toEqual([null, { iteration: 2, accuracy: 0.5 }, { iteration: 4, accuracy: 0.7 }]);
    expect(final.iteration).toBe(7);
    // The selected set is exactly the images and lr that were evaluated at the winning point (iteration 4),
    // not the final iterate.
    const won = evaluated.get(4)!;
    expect(final.best).toMatchObject({ iteration: 4, accuracy: 0.7, lr: won.lr });
    expect(differing(final.best!.images, won.images)).toBe(0);
    expect(differing(final.best!.images, final.images)).toBeGreaterThan(0);
    expect(differing(final.best!.images, evaluated.get(6)!.images)).toBeGreaterThan(0);
    // The selected set travels in the checkpoint.
    const restored = (await restoreCheckpoint(store, 'run-7/distill/stage-0'))!.best!;
    expect(restored).toMatchObject({ iteration: 4, accuracy: 0.7, lr: won.lr });
    expect(differing(restored.images, won.images)).toBe(0);
  });

  it('equal scores keep the first point (the reference replaces its best only on a strictly greater accuracy)', async () => {
    const distill = tinyDistill({ iterations: 4, evalEvery: 2, checkpointEvery: 10, mask: GROWING_MASK });
    const final = await runDistillation(job(distill), createMemoryStore(), { evaluate: async () => 0.5 });
    expect(final.best?.iteration).toBe(2);
  });

  it('resume with a selected set in the checkpoint is bit-identical to a straight run', async () => {
    const distill = tinyDistill({ iterations: 5, evalEvery: 2, checkpointEvery: 3, mask: GROWING_MASK });
    // Scores that depend only on the state, so the re-run evaluation after resume scores the same.
    const score = async (s: DistillState): Promise<number> => [0, 0, 0.4, 0, 0.3][s.iteration] ?? 0;
    const straight = await runDistillation(job(distill), createMemoryStore(), { evaluate: score });
    const store = createMemoryStore();
    await expect(
      runDistillation(job(distill), store, {
        evaluate: score,
        onIteration: (m) => {
          if (m.iteration === 4) throw new Error('worker lost at iteration 4');
        },
      }),
    ).rejects.toThrow('worker lost');
    expect((await restoreCheckpoint(store, 'run-7/distill/stage-0'))!.best?.iteration).toBe(2);
    const resumed = await runDistillation(job(distill), store, { evaluate: score });
    expect(straight.best?.iteration).toBe(2);
    expect(encodeDistillState(resumed)).toEqual(encodeDistillState(straight));
  });

  it('evalEvery = 0 never evaluates', async () => {
    let calls = 0;
    const final = await runDistillation(
      job(tinyDistill({ iterations: 2, evalEvery: 0, mask: GROWING_MASK })),
      createMemoryStore(),
      {
        evaluate: async () => (calls++, 1),
      },
    );
    expect(calls).toBe(0);
    expect(final.best).toBeNull();
  });

  it('end to end (toy): 10 iterations from noise against a trained expert lower the matching loss', async () => {
    const data = toyImageSet(TINY, 10, 2);
    const experts = trainedExperts(TINY, data, [0], { epochs: 2, lr: 0.05, batch: 10 });
    const distill = tinyDistill({
      init: 'noise',
      synSteps: 4,
      batchSyn: 6,
      lrImg: 30,
      lrTeacher: 0.05,
      minStartEpoch: 0,
      maxStartEpoch: 1,
      iterations: 9,
      checkpointEvery: 50,
      seed: 1,
      // Admits every coordinate at once: the reference's masked loss with v = 1 (MTT's normalised loss).
      mask: { enabled: true, baseThreshold: 1, growingFactor: 1.5, growEvery: 500, recompute: false },
    });
    const metrics: IterationMetrics[] = [];
    const final = await runDistillation(
      { prefix: 'toy/distill/s0', cfg: TINY, distill, train: data, numClasses: 3, experts },
      createMemoryStore(),
      {
        onIteration: (m) => void metrics.push(m),
      },
    );
    expect(final.iteration).toBe(10);
    const losses = metrics.map((m) => m.loss);
    expect(losses).toHaveLength(10);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(metrics[0]!.utilization).toBe(1);
    const last3 = (losses[7]! + losses[8]! + losses[9]!) / 3;
    expect(last3, `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`).toBeLessThan(0.75 * losses[0]!);
  });
});
