import { expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import type { Scalar, Tensor, Tensor4D } from '../../shared/engine/tf.ts';
import {
  INSTANCE_NORM_KERNELS,
  InstanceNorm,
  InstanceNormGrad,
  InstanceNormGradGrad,
  InstanceNormRelu,
  InstanceNormReluGrad,
  InstanceNormReluGradGrad,
  NORM_EPS,
  instanceNorm,
  instanceNormRelu,
} from '../../shared/engine/ops/instance-norm.ts';
import { registerTensorflowKernels } from '../../shared/engine/kernels/tensorflow/register.ts';
import { opLibraryStatus } from '../../shared/engine/backends/tensorflow.ts';
import { forEachBackend, TEST_BACKENDS } from '../helpers/backends.ts';
import { expectClose } from '../helpers/compare.ts';
import { randomValues } from '../helpers/finite-differences.ts';

// Our instance norm's derivatives, to second order, against tfjs's own differentiation of the composite of
// stock ops (float32 both; the stock gradients of these ops are right to second order: they are the ones
// the finite-difference suite checks). The finite-difference checks in second-order.test.ts cover it too,
// at a looser tolerance.

const stockComposite = (x: Tensor, gamma: Tensor, beta: Tensor): Tensor => {
  const centred = tf.sub(x, tf.mean(x, [1, 2], true));
  const variance = tf.mean(tf.square(centred), [1, 2], true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, NORM_EPS))), gamma), beta);
};

const random = (shape: number[], seed: number, scale = 1): Tensor =>
  tf.tensor(
    randomValues(
      shape.reduce((a, b) => a * b),
      seed,
      scale,
    ),
    shape,
  );

/**
 * S(x, gamma, beta) = <u, dL/dx> + <v, dL/dgamma> + <z, dL/dbeta> with L = sum(w * norm(x)^2 + w2 * norm(x)):
 * its gradient needs every second derivative of the norm (x-x, x-gamma, and through dy = dL/dy back to x,
 * gamma and beta), and every cotangent of the gradient kernel (gx = u, ggamma = v, gbeta = z).
 */
function secondOrder(norm: (x: Tensor, g: Tensor, b: Tensor) => Tensor, shape: number[]): Tensor[] {
  const c = shape[3]!;
  const [x, gamma, beta] = [random(shape, 1, 2), random([c], 2), random([c], 3)];
  const [w, w2, u, v, z] = [
    random(shape, 4),
    random(shape, 5),
    random(shape, 6),
    random([c], 7),
    random([c], 8),
  ];
  const loss = (xi: Tensor, gi: Tensor, bi: Tensor): Scalar => {
    const y = norm(xi, gi, bi);
    return tf.add(tf.sum(tf.mul(w, tf.square(y))), tf.sum(tf.mul(w2, y))) as Scalar;
  };
  const s = (xi: Tensor, gi: Tensor, bi: Tensor): Scalar => {
    const [dx, dg, db] = tf.grads(loss)([xi, gi, bi]);
    return tf.addN([tf.sum(tf.mul(u, dx!)), tf.sum(tf.mul(v, dg!)), tf.sum(tf.mul(z, db!))]) as Scalar;
  };
  return tf.grads(s)([x, gamma, beta]);
}

forEachBackend('instance norm vs the stock composite, to second order', () => {
  const variants: [string, (x: Tensor, g: Tensor, b: Tensor) => Tensor, typeof stockComposite][] = [
    ['instanceNorm', (x, g, b) => instanceNorm(x as Tensor4D, g, b), stockComposite],
    [
      'instanceNormRelu',
      (x, g, b) => instanceNormRelu(x as Tensor4D, g, b),
      (x, g, b) => tf.relu(stockComposite(x, g, b)),
    ],
  ];
  for (const [name, ours, stock] of variants)
    for (const shape of [
      [2, 5, 5, 3],
      [3, 4, 6, 8],
    ]) {
      it(`${name}: d/d(x, gamma, beta) of a function of the first gradient: x=[${shape}]`, async () => {
        const got = secondOrder(ours, shape);
        const want = secondOrder(stock, shape);
        for (const [i, input] of ['x', 'gamma', 'beta'].entries()) {
          const expected = await want[i]!.data();
          if (input !== 'beta' || name === 'instanceNormRelu')
            expect(Math.max(...Array.from(expected, Math.abs)), input).toBeGreaterThan(1e-3);
          expectClose(await got[i]!.data(), expected, 1e-3, `d/d${input}`);
        }
        tf.dispose([...got, ...want]);
      });
    }

  it('third order is refused, saying so', () => {
    const x = random([1, 2, 2, 1], 9);
    const [g, b] = [tf.ones([1]), tf.zeros([1])];
    const thirdOrder = () =>
      tf.grad((xi: Tensor) =>
        tf.sum(
          tf.grad((xj: Tensor) =>
            tf.sum(tf.grad((xk: Tensor) => tf.sum(tf.square(instanceNorm(xk as Tensor4D, g, b))))(xj)),
          )(xi),
        ),
      )(x);
    expect(thirdOrder).toThrow('instance norm: third-order derivatives are not implemented');
    const thirdOrderRelu = () =>
      tf.grad((xi: Tensor) =>
        tf.sum(
          tf.grad((xj: Tensor) =>
            tf.sum(tf.grad((xk: Tensor) => tf.sum(tf.square(instanceNormRelu(xk as Tensor4D, g, b))))(xj)),
          )(xi),
        ),
      )(x);
    expect(thirdOrderRelu).toThrow('instance norm: third-order derivatives are not implemented');
    tf.dispose([x, g, b]);
  });

  it('refuses a gamma or beta that does not match the channels, naming both', () => {
    const x = tf.zeros([1, 2, 2, 3]) as Tensor4D;
    const [g, b] = [tf.ones([2]), tf.zeros([3])];
    expect(() => instanceNorm(x, g, b)).toThrow('instanceNorm: gamma [2] and beta [3] must have 3 values');
    tf.dispose([x, g, b]);
  });
});

// The op library's kernels (hoptm-ops.cc) against the composite kernels on the same backend (the norm
// kernels, directly) or against tfjs-node's own (pool, filter transposes). [6,16,16,128] is split over
// threads; [2,5,5,3] is not.
forEachBackend(
  'tensorflow op library vs composite kernels',
  () => {
    const run = (kernel: string, inputs: Record<string, Tensor>): Tensor[] => {
      const out = tf.engine().runKernel(kernel, inputs, { epsilon: NORM_EPS }) as Tensor | Tensor[];
      return Array.isArray(out) ? out : [out];
    };
    const cases: [string, (shape: number[]) => Record<string, Tensor>][] = [
      [InstanceNorm, (s) => ({ x: random(s, 11, 3), gamma: random([s[3]!], 12), beta: random([s[3]!], 13) })],
      [InstanceNormGrad, (s) => ({ x: random(s, 14, 3), gamma: random([s[3]!], 15), dy: random(s, 16) })],
      [
        InstanceNormGradGrad,
        (s) => ({
          x: random(s, 17, 3),
          gamma: random([s[3]!], 18),
          dy: random(s, 19),
          gx: random(s, 20),
          ggamma: random([s[3]!], 21),
          gbeta: random([s[3]!], 22),
        }),
      ],
      [
        InstanceNormRelu,
        (s) => ({ x: random(s, 23, 3), gamma: random([s[3]!], 24), beta: random([s[3]!], 25) }),
      ],
      [
        InstanceNormReluGrad,
        (s) => ({ x: random(s, 26, 3), gamma: random([s[3]!], 27), y: random(s, 28), dy: random(s, 29) }),
      ],
      [
        InstanceNormReluGradGrad,
        (s) => ({
          x: random(s, 30, 3),
          gamma: random([s[3]!], 31),
          y: random(s, 32),
          dy: random(s, 33),
          gx: random(s, 34),
          ggamma: random([s[3]!], 35),
          gbeta: random([s[3]!], 36),
        }),
      ],
    ];
    for (const shape of [
      [2, 5, 5, 3],
      [6, 16, 16, 128],
    ])
      for (const [kernel, inputsOf] of cases) {
        it(`${kernel}: x=[${shape}]`, async () => {
          expect(opLibraryStatus(), 'the op library (scripts/install-tfjs-node.sh builds it)').toEqual({
            loaded: true,
          });
          const inputs = inputsOf(shape);
          try {
            registerTensorflowKernels({ nativeOps: false });
            const composite = run(kernel, inputs);
            registerTensorflowKernels({ nativeOps: true });
            const native = run(kernel, inputs);
            expect(native.map((t) => t.shape)).toEqual(composite.map((t) => t.shape));
            for (const [i, t] of native.entries())
              expectClose(await t.data(), await composite[i]!.data(), 2e-5, `${kernel} output ${i}`);
            tf.dispose([...composite, ...native]);
          } finally {
            registerTensorflowKernels({ nativeOps: true });
            tf.dispose(Object.values(inputs));
          }
        });
      }

    // The 2x2 stride-2 average pool and its gradient against tfjs-node's stock kernels; odd sizes drop the
    // last row and column.
    for (const shape of [
      [2, 5, 5, 3],
      [6, 16, 16, 128],
    ])
      it(`AvgPool 2x2/2 and AvgPoolGrad (ours) vs the stock kernels: x=[${shape}]`, async () => {
        expect(opLibraryStatus()).toEqual({ loaded: true });
        const x = random(shape, 40) as Tensor4D;
        const dy = random([shape[0]!, shape[1]! >> 1, shape[2]! >> 1, shape[3]!], 41);
        const both = () => [
          tf.avgPool(x, 2, 2, 'valid'),
          tf
            .engine()
            .runKernel(
              tf.AvgPoolGrad,
              { dy, input: x },
              { filterSize: 2, strides: 2, pad: 'valid' },
            ) as Tensor,
        ];
        try {
          registerTensorflowKernels({ nativeOps: false });
          const stock = both();
          registerTensorflowKernels({ nativeOps: true });
          const native = both();
          for (const [i, t] of native.entries()) {
            expect(t.shape).toEqual(stock[i]!.shape);
            expectClose(await t.data(), await stock[i]!.data(), 1e-6, i === 0 ? 'AvgPool' : 'AvgPoolGrad');
          }
          tf.dispose([...stock, ...native]);
        } finally {
          registerTensorflowKernels({ nativeOps: true });
          tf.dispose([x, dy]);
        }
      });

    for (const [shape, perm] of [
      [
        [128, 128, 3, 3],
        [2, 3, 1, 0],
      ],
      [
        [3, 3, 16, 8],
        [3, 2, 0, 1],
      ],
      [
        [5, 4, 3, 2],
        [2, 3, 1, 0],
      ],
    ] as const)
      it(`conv filter transpose [${perm}] vs the stock kernel: x=[${shape}]`, async () => {
        const x = random([...shape], 43);
        try {
          registerTensorflowKernels({ nativeOps: false });
          const stock = tf.transpose(x, [...perm]);
          registerTensorflowKernels({ nativeOps: true });
          const native = tf.transpose(x, [...perm]);
          expect(native.shape).toEqual(stock.shape);
          expect(Array.from(await native.data())).toEqual(Array.from(await stock.data()));
          tf.dispose([stock, native]);
        } finally {
          registerTensorflowKernels({ nativeOps: true });
          x.dispose();
        }
      });

    it('other pools still go to the stock kernel: 3x3 stride 1 same', async () => {
      const x = random([1, 4, 4, 2], 42) as Tensor4D;
      const y = tf.avgPool(x, 3, 1, 'same');
      expect(y.shape).toEqual([1, 4, 4, 2]);
      // At the corner, SAME padding averages the 2x2 window inside the image (channel 0: offsets 0, 2, 8, 10).
      const v = await x.data();
      expect((await y.data())[0]).toBeCloseTo((v[0]! + v[2]! + v[8]! + v[10]!) / 4, 5);
      tf.dispose([x, y]);
    });

    it('every kernel of the op library is registered on tensorflow', () => {
      for (const kernel of INSTANCE_NORM_KERNELS) expect(tf.getKernel(kernel, 'tensorflow')).toBeDefined();
    });
  },
  { backends: TEST_BACKENDS.filter((b) => b === 'tensorflow') },
);
