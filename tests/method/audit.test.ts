import { describe, expect, it } from 'vitest';
import { createRng } from '../../shared/engine/random.ts';
import type { ImageSet } from '../../shared/data/types.ts';
import { createMemoryStore } from '../../shared/storage/memory.ts';
import { initialDistillState, initialRealRows } from '../../shared/method/distill/init.ts';
import { publishStageSets } from '../../shared/method/pipeline/outputs.ts';
import { resultsPrefix } from '../../shared/method/pipeline/keys.ts';
import {
  assertPublishable,
  auditRun,
  nearestNeighbours,
  PublishGateError,
  rocAuc,
  ssim,
  tprAtFpr,
  type AuditResult,
} from '../../shared/method/audit/index.ts';
import { auditSchema } from '../../shared/config/audit.ts';
import { tinyRunConfig, tinyRunData } from './helpers/tiny-run.ts';

/** SSIM straight from its definition, window by window (the oracle for the summed-area version). */
function naiveSsim(a: number[], b: number[], h: number, w: number, win = 7): number {
  const C1 = 0.01 ** 2;
  const C2 = 0.03 ** 2;
  const np = win * win;
  let sum = 0;
  let count = 0;
  for (let y = 0; y + win <= h; y++) {
    for (let x = 0; x + win <= w; x++) {
      const xs: number[] = [];
      const ys: number[] = [];
      for (let i = 0; i < win; i++)
        for (let j = 0; j < win; j++) {
          xs.push(a[(y + i) * w + x + j]!);
          ys.push(b[(y + i) * w + x + j]!);
        }
      const mx = xs.reduce((s, v) => s + v, 0) / np;
      const my = ys.reduce((s, v) => s + v, 0) / np;
      const vx = xs.reduce((s, v) => s + (v - mx) ** 2, 0) / (np - 1);
      const vy = ys.reduce((s, v) => s + (v - my) ** 2, 0) / (np - 1);
      const cxy = xs.reduce((s, v, k) => s + (v - mx) * (ys[k]! - my), 0) / (np - 1);
      sum += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      count++;
    }
  }
  return sum / count;
}

const randomImages = (n: number, size: number, seed: number): Float32Array => {
  const rng = createRng(seed);
  return Float32Array.from({ length: n * size }, () => rng.next());
};

describe('ssim (scikit-image structural_similarity, data range 1, 7x7 window, sample covariance)', () => {
  it('identical images give exactly 1; random 12x10 pairs match the window-by-window definition to 1e-9', () => {
    const a = randomImages(1, 120, 1);
    const b = randomImages(1, 120, 2);
    const shape = { height: 12, width: 10, channels: 1 };
    expect(ssim(a, 0, a, 0, shape)).toBe(1);
    const mixed = a.map((v, i) => 0.7 * v + 0.3 * b[i]!);
    for (const other of [b, mixed]) {
      expect(ssim(a, 0, other, 0, shape)).toBeCloseTo(naiveSsim([...a], [...other], 12, 10), 9);
    }
    expect(ssim(a, 0, mixed, 0, shape)).toBeGreaterThan(ssim(a, 0, b, 0, shape));
  });

  it('averages channels of HWC images', () => {
    const a = randomImages(1, 8 * 8 * 2, 3);
    const b = randomImages(1, 8 * 8 * 2, 4);
    const ch = (x: Float32Array, c: number) => [...x].filter((_, i) => i % 2 === c);
    const expected = (naiveSsim(ch(a, 0), ch(b, 0), 8, 8) + naiveSsim(ch(a, 1), ch(b, 1), 8, 8)) / 2;
    expect(ssim(a, 0, b, 0, { height: 8, width: 8, channels: 2 })).toBeCloseTo(expected, 9);
  });
});

describe('membership attack figures', () => {
  it('rocAuc: perfect separation 1, reversed 0, all tied 0.5, a hand-counted case 7/9', () => {
    expect(rocAuc([3, 4], [1, 2])).toBe(1);
    expect(rocAuc([1, 2], [3, 4])).toBe(0);
    expect(rocAuc([1, 1], [1, 1])).toBe(0.5);
    // members 2, 4, 6 vs non-members 1, 3, 5: pairs won 1 + 2 + 3 = 6, ... of 9: (2>1)(4>1,3)(6>1,3,5) = 6 -> 6/9
    expect(rocAuc([2, 4, 6], [1, 3, 5])).toBeCloseTo(6 / 9, 12);
    expect(rocAuc([2, 4, 6, 3], [1, 3, 5])).toBeCloseTo((1 + 2 + 3 + 1.5) / 12, 12);
  });

  it('tprAtFpr: the best TPR whose FPR stays within the bound', () => {
    const non = Array.from({ length: 100 }, (_, i) => i); // 0..99
    // Thresholds above 98 admit exactly one non-member (99): FPR 1%.
    expect(tprAtFpr([150, 120, 98.5, 10], non, 0.01)).toBe(0.75);
    expect(tprAtFpr([150, 120, 98.5, 10], non, 0)).toBe(0.5);
    expect(tprAtFpr([0, 1], non, 0.01)).toBe(0);
  });
});

describe('nearestNeighbours: near-copies', () => {
  it('flags a planted near-copy of a training image and names it; leaves a noise image unflagged', async () => {
    const size = 8 * 8;
    const train: ImageSet = {
      images: randomImages(30, size, 5).map((v) => 2 * v - 1),
      labels: Int32Array.from({ length: 30 }, (_, i) => i % 3),
      n: 30,
      height: 8,
      width: 8,
      channels: 1,
    };
    const planted = train.images.slice(7 * size, 8 * size).map((v, i) => v + 0.01 * Math.sin(i));
    const noise = randomImages(1, size, 99).map((v) => 2 * v - 1);
    const images = new Float32Array(2 * size);
    images.set(planted, 0);
    images.set(noise, size);
    const records = await nearestNeighbours({ images, labels: Int32Array.of(1, 2) }, train, {
      norm: { mean: [0.5], std: [0.5] },
      initialRows: [7, 8],
      candidates: 5,
      threshold: 0.9,
    });
    expect(records[0]).toMatchObject({
      index: 0,
      flagged: true,
      nearestL2: { row: 7 },
      nearestSsim: { row: 7 },
    });
    expect(records[0]!.nearestSsim.ssim).toBeGreaterThan(0.99);
    expect(records[0]!.initial).toMatchObject({ row: 7, rank: 1 });
    expect(records[1]!.flagged).toBe(false);
    expect(records[1]!.nearestSsim.ssim).toBeLessThan(0.5);
    expect(records[1]!.initial!.rank).toBeGreaterThanOrEqual(1);
  });
});

describe('initialRealRows', () => {
  it('replays initialDistillState: row c*ipc+j of the initial set is train image rows[c*ipc+j]', () => {
    const data = tinyRunData();
    const { train } = data.dataset;
    const s = initialDistillState(train, 3, {
      ipc: 2,
      init: 'real',
      lrTeacher: 0.01,
      paramCount: 1,
      maskEnabled: true,
      experts: [0],
      seed: 11,
    });
    const rows = initialRealRows(train, 3, 2, 11);
    const d = 64;
    rows.forEach((row, i) => {
      expect([...s.images.subarray(i * d, (i + 1) * d)]).toEqual([
        ...train.images.subarray(row * d, (row + 1) * d),
      ]);
      expect(train.labels[row]).toBe(Math.floor(i / 2));
    });
  });
});

describe('auditRun and the publish gate', () => {
  /** Publishes the initial set (exact copies of real images) with image 1 replaced by noise. */
  const publishPlanted = async () => {
    const cfg = tinyRunConfig({ audit: { nearCopySsim: 0.9, gate: { enabled: true, maxAuc: 1 } } });
    const data = tinyRunData();
    const store = createMemoryStore();
    const state = initialDistillState(data.dataset.train, 3, {
      ipc: cfg.distill.ipc,
      init: 'real',
      lrTeacher: cfg.distill.lrTeacher,
      paramCount: 1,
      maskEnabled: true,
      experts: [0],
      seed: cfg.distill.seed,
    });
    const images = state.images.slice();
    images.set(
      randomImages(1, 64, 42).map((v) => 4 * v - 2),
      64,
    );
    for (let i = 2 * 64; i < images.length; i++) images[i] = -images[i]!; // inverted: far from every real image
    await publishStageSets(
      store,
      resultsPrefix('r', 'main'),
      { ...state, images, iteration: 5 },
      data.dataset.manifest,
      'val',
    );
    return { cfg, data, store };
  };

  it('flags the planted near-copy (the untouched initial image), measures both attacks, stores audit.json', async () => {
    const { cfg, data, store } = await publishPlanted();
    const audit = await auditRun(cfg, data, store, 'r', 'main');
    expect(audit.nearCopies.flagged).toEqual([0]);
    const [copy] = audit.nearCopies.images;
    expect(copy!.nearestSsim.ssim).toBe(1);
    expect(copy!.initial).toMatchObject({ distance: 0, ssim: 1, rank: 1 });
    expect(copy!.nearestSsim.row).toBe(copy!.initial!.row);
    // Before distillation every image is a copy of its initial real image.
    expect(audit.nearCopies.before.flagged).toBe(6);
    expect(audit.nearCopies.before.nearestSsim.min).toBe(1);
    expect(audit.nearCopies.perClass.map((c) => c.name)).toEqual(['a', 'b', 'c']);
    const m = audit.membership!;
    expect(m.members).toBe(20 + 6);
    expect(m.initialMembers).toBe(6);
    for (const t of [m.synthetic, m.real]) {
      for (const f of [t.loss, t.calibrated!]) {
        expect(f.auc).toBeGreaterThanOrEqual(0);
        expect(f.auc).toBeLessThanOrEqual(1);
        expect(f.tprAt1Fpr).toBeGreaterThanOrEqual(0);
        expect(f.initialImages!.n).toBe(6);
      }
    }
    expect(m.synthetic.images).toBe(6);
    expect(m.real.images).toBe(data.dataset.train.n);
    const stored = JSON.parse(new TextDecoder().decode(await store.get(audit.key))) as AuditResult;
    expect(stored.nearCopies.flagged).toEqual([0]);
    expect(await store.exists(audit.imagesKey)).toBe(true);
  });

  it('the gate refuses a flagged set (naming the image and its SSIM) and passes a clean one; a disabled gate passes', async () => {
    const { cfg, data, store } = await publishPlanted();
    const audit = await auditRun(
      { ...cfg, audit: { ...cfg.audit, membership: { ...cfg.audit.membership, referenceNetworks: 0 } } },
      data,
      store,
      'r',
      'main',
    );
    let caught: unknown;
    try {
      assertPublishable(audit, cfg.audit.gate);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PublishGateError);
    const err = caught as PublishGateError;
    expect(err.name).toBe('PublishGateError');
    expect(err.nonRetryable).toBe(true);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(
      /1 of 6 synthetic images are near-copies .*SSIM >= 0.9.*#0 \(class a: SSIM 1.000 with real training image \d+\)/,
    );

    // The same figures with the near-copy threshold above every SSIM and a loose AUC bound: published.
    const clean: AuditResult = { ...audit, nearCopies: { ...audit.nearCopies, flagged: [] } };
    expect(() => assertPublishable(clean, cfg.audit.gate)).not.toThrow();
    // An AUC above the bound is refused with the figures.
    const auc = audit.membership!.synthetic.loss.auc;
    const strict = auditSchema.parse({ gate: { enabled: true, maxAuc: auc / 2 } }).gate;
    expect(() => assertPublishable(clean, strict)).toThrow(
      new RegExp(`ROC AUC ${auc.toFixed(3)} > ${auc / 2}.*TPR at 1% FPR`),
    );
    expect(() => assertPublishable(audit, { ...cfg.audit.gate, enabled: false })).not.toThrow();
  });
});
