import { it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor4D } from '../../shared/engine/tf.ts';
import { convNetForward } from '../../shared/engine/convnet/forward.ts';
import { convNetLayout, type ConvNetConfig } from '../../shared/engine/convnet/layout.ts';
import { initConvNetParams } from '../../shared/engine/convnet/init.ts';
import { crossEntropy } from '../../shared/engine/ops/cross-entropy.ts';
import { stopGradient } from '../../shared/engine/ops/stop-gradient.ts';
import { instanceNorm } from '../../shared/engine/ops/instance-norm.ts';
import { applyAugDraw } from '../../shared/engine/dsa/apply.ts';
import { sampleAugDraw, DSA_FAMILIES } from '../../shared/engine/dsa/draws.ts';
import { createRng } from '../../shared/engine/random.ts';
import { shapeLoss } from '../../shared/method/matching/shape-loss.ts';
import { paramMatchingLoss } from '../../shared/method/matching/param-loss.ts';
import { forEachBackend } from '../helpers/backends.ts';
import { expectClose } from '../helpers/compare.ts';
import {
  hessianVectorCheck,
  mixedCheck,
  randomValues,
  type SecondOrderCheck,
} from '../helpers/finite-differences.ts';

// Every op on the meta-gradient's path: nested tfjs gradients against central finite differences of the
// first gradient (float32, eps 1e-2, so the tolerance allows the O(eps^2) truncation and rounding).
const TOLERANCE = 2e-2;

const weighted = (y: Tensor, seed: number): Scalar =>
  tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, seed), y.shape))) as Scalar;
const weightedSquare = (y: Tensor, seed: number): Scalar => weighted(tf.square(y), seed);
const expectAgreement = ({ analytic, numeric }: SecondOrderCheck, what: string): void => {
  // Guard against a vacuous pass: a zero second derivative would match zero finite differences.
  if (numeric.every((v) => Math.abs(v) < 1e-6))
    throw new Error(`${what}: the finite differences are all ~0; the case tests nothing`);
  expectClose(analytic, numeric, TOLERANCE, what);
};

const filter = (shape: [number, number, number, number], seed: number): Tensor4D =>
  tf.tensor4d(
    randomValues(
      shape.reduce((a, b) => a * b),
      seed,
      0.5,
    ),
    shape,
  );

forEachBackend('second-order gradients vs finite differences', () => {
  it('conv2d wrt x: x=[2,5,5,3] f=[3,3,3,4] s=1 p=same', async () => {
    const w = filter([3, 3, 3, 4], 1);
    expectAgreement(
      await hessianVectorCheck(
        (x) => weightedSquare(tf.conv2d(x as Tensor4D, w, 1, 'same'), 2),
        randomValues(150, 3),
        [2, 5, 5, 3],
      ),
      'conv2d x',
    );
  });

  it('conv2d wrt filter: x=[2,5,5,3] f=[3,3,3,4] s=1 p=same', async () => {
    const x = tf.tensor4d(randomValues(150, 4), [2, 5, 5, 3]);
    expectAgreement(
      await hessianVectorCheck(
        (w) => weightedSquare(tf.conv2d(x, w as Tensor4D, 1, 'same'), 5),
        randomValues(108, 6, 0.5),
        [3, 3, 3, 4],
      ),
      'conv2d filter',
    );
  });

  it('conv2d mixed filter/x (Conv2DBackpropFilter gradient): x=[2,6,6,2] f=[3,3,2,3]', async () => {
    const check = await mixedCheck(
      (w, x) => weightedSquare(tf.conv2d(x as Tensor4D, w as Tensor4D, 1, 'same'), 7),
      randomValues(54, 8, 0.5),
      [3, 3, 2, 3],
      randomValues(144, 9),
      [2, 6, 6, 2],
    );
    expectAgreement(check, 'conv2d mixed');
  });

  it('avgPool 2x2 s2 valid (AvgPoolGrad gradient): x=[2,5,5,3] (odd size, floor)', async () => {
    expectAgreement(
      await hessianVectorCheck(
        (x) => weightedSquare(tf.avgPool(x as Tensor4D, 2, 2, 'valid'), 10),
        randomValues(150, 11),
        [2, 5, 5, 3],
      ),
      'avgPool',
    );
  });

  it('relu: x=[40]', async () => {
    expectAgreement(
      await hessianVectorCheck((x) => weightedSquare(tf.relu(x), 12), randomValues(40, 13), [40]),
      'relu',
    );
  });

  it('instance norm equals the composite of stock ops in value and first derivatives: x=[2,5,5,3]', async () => {
    const composite = (x: Tensor, gamma: Tensor, beta: Tensor): Tensor => {
      const centred = tf.sub(x, tf.mean(x, [1, 2], true));
      const variance = tf.mean(tf.square(centred), [1, 2], true);
      return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, 1e-5))), gamma), beta);
    };
    const inputs = [
      tf.tensor4d(randomValues(150, 40, 3), [2, 5, 5, 3]),
      tf.tensor1d([1.3, -0.7, 0.4]),
      tf.tensor1d([0.1, 0.2, -0.3]),
    ];
    const loss =
      (f: (x: Tensor, g: Tensor, b: Tensor) => Tensor) =>
      (x: Tensor, g: Tensor, b: Tensor): Scalar =>
        weightedSquare(f(x, g, b), 41);
    const ours = tf.valueAndGrads(loss((x, g, b) => instanceNorm(x as Tensor4D, g, b)))(inputs);
    const stock = tf.valueAndGrads(loss(composite))(inputs);
    expectClose(await ours.value.data(), await stock.value.data(), 1e-5, 'value');
    for (const [i, name] of ['x', 'gamma', 'beta'].entries())
      expectClose(await ours.grads[i]!.data(), await stock.grads[i]!.data(), 1e-4, `d/d${name}`);
    tf.dispose([...inputs, ours.value, stock.value, ...ours.grads, ...stock.grads]);
  });

  it('instance norm wrt x (closed-form gradient, differentiated again): x=[2,5,5,3]', async () => {
    const gamma = tf.tensor1d([1.3, -0.7, 0.4]);
    const beta = tf.tensor1d([0.1, 0.2, -0.3]);
    expectAgreement(
      await hessianVectorCheck(
        (x) => weightedSquare(instanceNorm(x as Tensor4D, gamma, beta), 31),
        randomValues(150, 32, 2),
        [2, 5, 5, 3],
      ),
      'instance norm x',
    );
  });

  it('instance norm mixed x/gamma: x=[2,4,4,3]', async () => {
    const beta = tf.tensor1d([0.1, 0.2, -0.3]);
    const check = await mixedCheck(
      (x, gamma) => weightedSquare(instanceNorm(x as Tensor4D, gamma, beta), 33),
      randomValues(96, 34, 2),
      [2, 4, 4, 3],
      randomValues(3, 35),
      [3],
    );
    expectAgreement(check, 'instance norm x/gamma');
  });

  it('sum and mean over H, W (their gradients broadcast with Tile): x=[2,4,4,3]', async () => {
    expectAgreement(
      await hessianVectorCheck(
        (x) =>
          weighted(
            tf.mul(tf.square(tf.sum(x, [1, 2], true)), tf.mean(tf.square(x as Tensor4D), [1, 2], true)),
            36,
          ),
        randomValues(96, 37),
        [2, 4, 4, 3],
      ),
      'sum/mean',
    );
  });

  it('tile with copies of whole axes (its gradient sums the copies): x=[2,3,2] reps=[2,1,3]', async () => {
    expectAgreement(
      await hessianVectorCheck(
        (x) => weightedSquare(tf.tile(x, [2, 1, 3]), 38),
        randomValues(12, 39),
        [2, 3, 2],
      ),
      'tile',
    );
  });

  it('exp (input-saving gradient): x=[30]', async () => {
    expectAgreement(
      await hessianVectorCheck((x) => weighted(tf.exp(x), 14), randomValues(30, 15), [30]),
      'exp',
    );
  });

  it('matMul mixed: a=[4,5] b=[5,3]', async () => {
    const check = await mixedCheck(
      (a, b) => weightedSquare(tf.matMul(a as Tensor2D, b as Tensor2D), 16),
      randomValues(20, 17),
      [4, 5],
      randomValues(15, 18),
      [5, 3],
    );
    expectAgreement(check, 'matMul');
  });

  it('cross-entropy from primitives wrt logits: z=[5,4]', async () => {
    const labels = tf.tensor1d([0, 3, 1, 1, 2], 'int32');
    expectAgreement(
      await hessianVectorCheck((z) => crossEntropy(z as Tensor2D, labels), randomValues(20, 19, 3), [5, 4]),
      'cross-entropy',
    );
  });

  it('stopGradient has zero gradient at every order: x=[6]', async () => {
    const g = tf.grad((x: Tensor) => tf.sum(tf.mul(stopGradient(x), x)) as Scalar)(
      tf.tensor1d(randomValues(6, 20)),
    );
    expectClose(await g.data(), randomValues(6, 20), 1e-6, 'd/dx <stop(x), x> = stop(x)');
    g.dispose();
  });

  for (const family of DSA_FAMILIES) {
    it(`DSA ${family}: x=[3,7,7,2]`, async () => {
      const draw = sampleAugDraw(createRng(21), 3, 7, 7, [family]);
      expectAgreement(
        await hessianVectorCheck(
          (x) => weightedSquare(applyAugDraw(x as Tensor4D, draw), 22),
          randomValues(294, 23),
          [3, 7, 7, 2],
        ),
        `DSA ${family}`,
      );
    });
  }

  // ReLU kinks make the first gradient discontinuous; these inputs and eps were chosen so that no finite
  // difference straddles a kink (a straddle shows up as a numeric value growing like 1/eps).
  const cfg: ConvNetConfig = { channels: 2, width: 3, depth: 2, imageSize: 8, numClasses: 3 };
  const P = convNetLayout(cfg).size;
  const theta = initConvNetParams(cfg, createRng(24));
  const labels = [0, 2, 1];

  it(`ConvNet + CE wrt params (instance norm, relu, pool, linear): w=3 d=2 x=[3,8,8,2] P=${P}`, async () => {
    const x = tf.tensor4d(randomValues(384, 25), [3, 8, 8, 2]);
    const y = tf.tensor1d(labels, 'int32');
    expectAgreement(
      await hessianVectorCheck(
        (t) => crossEntropy(convNetForward(t as Tensor1D, x, cfg), y),
        theta,
        [P],
        26,
        3e-4,
      ),
      'convnet params',
    );
  });

  it('ConvNet + DSA rotate + CE mixed params/images: w=3 d=2 x=[3,8,8,2]', async () => {
    const y = tf.tensor1d(labels, 'int32');
    const draw = sampleAugDraw(createRng(27), 3, 8, 8, ['rotate']);
    const check = await mixedCheck(
      (t, x) => crossEntropy(convNetForward(t as Tensor1D, applyAugDraw(x as Tensor4D, draw), cfg), y),
      theta,
      [P],
      randomValues(384, 28),
      [3, 8, 8, 2],
      29,
      3e-4,
    );
    expectAgreement(check, 'convnet mixed');
  });

  it('shape-wise angle potential wrt the student points: P=50', async () => {
    const start = tf.tensor1d(randomValues(50, 30));
    const mid = tf.tensor1d(randomValues(50, 31));
    const target = tf.tensor1d(randomValues(50, 32));
    const studentMid = tf.tensor1d(randomValues(50, 33));
    expectAgreement(
      await hessianVectorCheck(
        (f) => shapeLoss([start, studentMid, f as Tensor1D], [start, mid, target], 0.5),
        randomValues(50, 34),
        [50],
        35,
        1e-3,
      ),
      'shape loss',
    );
  });

  it('masked parameter loss wrt the student point: P=40', async () => {
    const start = tf.tensor1d(randomValues(40, 36));
    const target = tf.tensor1d(randomValues(40, 37));
    const mask = tf.tensor1d(Array.from(randomValues(40, 38), (v) => (v > 0 ? 1 : 0)));
    expectAgreement(
      await hessianVectorCheck(
        (f) => tf.square(paramMatchingLoss(f as Tensor1D, start, target, mask)),
        randomValues(40, 39),
        [40],
      ),
      'param loss',
    );
  });

  it('leaves no tensors behind: hessianVectorCheck on conv2d', async () => {
    const w = filter([3, 3, 2, 2], 40);
    const before = tf.memory().numTensors;
    await hessianVectorCheck(
      (x) => weightedSquare(tf.conv2d(x as Tensor4D, w, 1, 'same'), 41),
      randomValues(50, 42),
      [1, 5, 5, 2],
    );
    expectClose(tf.memory().numTensors, before, 0, 'tensor count');
  });
});
