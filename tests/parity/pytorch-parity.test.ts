import { it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import type { Tensor1D, Tensor2D, Tensor4D } from '../../shared/engine/tf.ts';
import { convNetForward } from '../../shared/engine/convnet/forward.ts';
import type { ConvNetConfig } from '../../shared/engine/convnet/layout.ts';
import { crossEntropy } from '../../shared/engine/ops/cross-entropy.ts';
import { applyAugDraw } from '../../shared/engine/dsa/apply.ts';
import type { AugDraw } from '../../shared/engine/dsa/draws.ts';
import { metaGradient } from '../../shared/method/matching/meta-gradient.ts';
import type { InnerStep } from '../../shared/method/matching/problem.ts';
import { forEachBackend } from '../helpers/backends.ts';
import { expectClose } from '../helpers/compare.ts';
import { f32, loadFixture, type FixtureArray } from '../helpers/fixtures.ts';

// The float32 engine against PyTorch float64 autograd on the same inputs (scripts/reference/make_fixtures.py).
const TOLERANCE = 1e-3;

interface NetworkCase {
  name: string;
  cfg: ConvNetConfig;
  params: FixtureArray;
  images: FixtureArray;
  labels: FixtureArray;
  logits: FixtureArray;
  loss: number;
  grad: FixtureArray;
}
interface DsaCase {
  name: string;
  images: FixtureArray;
  draw: AugDraw;
  dy: FixtureArray;
  y: FixtureArray;
  dx: FixtureArray;
}
interface MetaCase {
  name: string;
  cfg: ConvNetConfig;
  params: { start: FixtureArray; mid: FixtureArray; target: FixtureArray };
  images: FixtureArray;
  labels: FixtureArray;
  lr: number;
  steps: InnerStep[];
  mask: FixtureArray;
  lamb: number;
  shape: boolean;
  expected: {
    paramLoss: number;
    shapeLoss: number;
    loss: number;
    gradImages: FixtureArray;
    gradLr: number;
    finalParams: FixtureArray;
  };
}

const tensor4d = (a: FixtureArray): Tensor4D =>
  tf.tensor4d(f32(a), a.shape as [number, number, number, number]);
const labelsOf = (a: FixtureArray): Tensor1D => tf.tensor1d(a.data, 'int32');

const networkCases = loadFixture<NetworkCase[]>('network.json');
const dsaCases = loadFixture<DsaCase[]>('dsa.json');
const metaCases = loadFixture<MetaCase[]>('meta-gradient.json');

forEachBackend('PyTorch float64 parity', () => {
  for (const c of networkCases) {
    it(`ConvNet logits, loss, gradient: ${c.name}`, async () => {
      const [logits, loss, grad] = tf.tidy(() => {
        const params = tf.tensor1d(f32(c.params));
        const images = tensor4d(c.images);
        const labels = labelsOf(c.labels);
        const lossOf = (p: tf.Tensor): tf.Scalar =>
          crossEntropy(convNetForward(p as Tensor1D, images, c.cfg) as Tensor2D, labels);
        return [convNetForward(params, images, c.cfg), lossOf(params), tf.grad(lossOf)(params)];
      });
      expectClose(await logits.data(), c.logits.data, TOLERANCE, 'logits');
      expectClose((await loss.data())[0]!, c.loss, TOLERANCE, 'loss');
      expectClose(await grad.data(), c.grad.data, TOLERANCE, 'dloss/dparams');
      tf.dispose([logits, loss, grad]);
    });
  }

  for (const c of dsaCases) {
    it(`DSA output and input-gradient: ${c.name}`, async () => {
      const [y, dx] = tf.tidy(() => {
        const x = tensor4d(c.images);
        const dy = tensor4d(c.dy);
        return [
          applyAugDraw(x, c.draw),
          tf.grad((t: tf.Tensor) => tf.sum(tf.mul(applyAugDraw(t as Tensor4D, c.draw), dy)) as tf.Scalar)(x),
        ];
      });
      expectClose(await y.data(), c.y.data, TOLERANCE, 'output');
      expectClose(await dx.data(), c.dx.data, TOLERANCE, 'input gradient');
      tf.dispose([y, dx]);
    });
  }

  for (const c of metaCases) {
    it(`meta-gradient: ${c.name} (N=${c.steps.length}, families ${[...new Set(c.steps.map((s) => s.draw.family))].join('/')})`, async () => {
      const problem = {
        cfg: c.cfg,
        expert: {
          start: tf.tensor1d(f32(c.params.start)),
          mid: tf.tensor1d(f32(c.params.mid)),
          target: tf.tensor1d(f32(c.params.target)),
        },
        images: tensor4d(c.images),
        labels: labelsOf(c.labels),
        lr: c.lr,
        steps: c.steps,
      };
      const mask = tf.tensor1d(f32(c.mask));
      const result = await metaGradient(problem, { mask, lambda: c.shape ? c.lamb : 0 });
      expectClose(result.paramLoss, c.expected.paramLoss, TOLERANCE, 'parameter loss');
      expectClose(result.shapeLoss, c.expected.shapeLoss, TOLERANCE, 'shape loss');
      expectClose(result.loss, c.expected.loss, TOLERANCE, 'total loss');
      expectClose(result.gradLr, c.expected.gradLr, TOLERANCE, 'dL/dlr');
      expectClose(await result.gradImages.data(), c.expected.gradImages.data, TOLERANCE, 'dL/dimages');
      tf.dispose([result.gradImages, mask, problem.images, problem.labels, ...Object.values(problem.expert)]);
    });
  }
});
