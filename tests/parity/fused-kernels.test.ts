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
  InstanceNormReluPool,
  InstanceNormReluPoolGrad,
  InstanceNormReluPoolGradGrad,
  NORM_EPS,
  instanceNorm,
  instanceNormRelu,
  instanceNormReluPool,
} from '../../shared/engine/ops/instance-norm.ts';
import { SAMPLE_TAPS_KERNELS, SampleTaps, SampleTapsAdjoint } from '../../shared/engine/ops/sample-taps.ts';
import { rotateTaps } from '../../shared/engine/dsa/taps.ts';
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
function secondOrder(
  norm: (x: Tensor, g: Tensor, b: Tensor) => Tensor,
  shape: number[],
  outShape = shape,
): Tensor[] {
  const c = shape[3]!;
  const [x, gamma, beta] = [random(shape, 1, 2), random([c], 2), random([c], 3)];
  const [w, w2, u, v, z] = [
    random(outShape, 4),
    random(outShape, 5),
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
  const pooled = ([n, h, w, c]: number[]): number[] => [n!, h! / 2, w! / 2, c!];
  const variants: [
    string,
    (x: Tensor, g: Tensor, b: Tensor) => Tensor,
    typeof stockComposite,
    number[][],
    (shape: number[]) => number[],
  ][] = [
    [
      'instanceNorm',
      (x, g, b) => instanceNorm(x as Tensor4D, g, b),
      stockComposite,
      [
        [2, 5, 5, 3],
        [3, 4, 6, 8],
      ],
      (shape) => shape,
    ],
    [
      'instanceNormRelu',
      (x, g, b) => instanceNormRelu(x as Tensor4D, g, b),
      (x, g, b) => tf.relu(stockComposite(x, g, b)),
      [
        [2, 5, 5, 3],
        [3, 4, 6, 8],
      ],
      (shape) => shape,
    ],
    [
      'instanceNormReluPool',
      (x, g, b) => instanceNormReluPool(x as Tensor4D, g, b),
      (x, g, b) => tf.avgPool(tf.relu(stockComposite(x, g, b)) as Tensor4D, 2, 2, 'valid'),
      [
        [2, 4, 6, 3],
        [3, 6, 4, 8],
      ],
      pooled,
    ],
  ];
  for (const [name, ours, stock, shapes, outShape] of variants)
    for (const shape of shapes) {
      it(`${name}: d/d(x, gamma, beta) of a function of the first gradient: x=[${shape}]`, async () => {
        const got = secondOrder(ours, shape, outShape(shape));
        const want = secondOrder(stock, shape, outShape(shape));
        for (const [i, input] of ['x', 'gamma', 'beta'].entries()) {
          const expected = await want[i]!.data();
          if (input !== 'beta' || name !== 'instanceNorm')
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
    const thirdOrderPool = () =>
      tf.grad((xi: Tensor) =>
        tf.sum(
          tf.grad((xj: Tensor) =>
            tf.sum(
              tf.grad((xk: Tensor) => tf.sum(tf.square(instanceNormReluPool(xk as Tensor4D, g, b))))(xj),
            ),
          )(xi),
        ),
      )(x);
    expect(thirdOrderPool).toThrow('instance norm: third-order derivatives are not implemented');
    tf.dispose([x, g, b]);
  });

  it('instanceNormReluPool refuses an odd height or width, naming the shape', () => {
    const x = tf.zeros([1, 3, 4, 2]) as Tensor4D;
    const [g, b] = [tf.ones([2]), tf.zeros([2])];
    expect(() => instanceNormReluPool(x, g, b)).toThrow(
      'instanceNormReluPool: expected NHWC activations of even height and width, got [1,3,4,2]',
    );
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
    const half = ([n, h, w, c]: number[]): number[] => [n!, h! / 2, w! / 2, c!];
    // The pool variants recompute the ReLU mask from x, gamma and beta: both sides must agree on it.
    const poolCases: typeof cases = [
      [
        InstanceNormReluPool,
        (s) => ({ x: random(s, 50, 3), gamma: random([s[3]!], 51), beta: random([s[3]!], 52) }),
      ],
      [
        InstanceNormReluPoolGrad,
        (s) => ({
          x: random(s, 53, 3),
          gamma: random([s[3]!], 54),
          beta: random([s[3]!], 55),
          dy: random(half(s), 56),
        }),
      ],
      [
        InstanceNormReluPoolGradGrad,
        (s) => ({
          x: random(s, 57, 3),
          gamma: random([s[3]!], 58),
          beta: random([s[3]!], 59),
          dy: random(half(s), 60),
          gx: random(s, 61),
          ggamma: random([s[3]!], 62),
          gbeta: random([s[3]!], 63),
        }),
      ],
    ];
    const runs: [number[], typeof cases][] = [
      [[2, 5, 5, 3], cases],
      [
        [6, 16, 16, 128],
        [...cases, ...poolCases],
      ],
      [[2, 4, 6, 3], poolCases],
    ];
    for (const [shape, kernels] of runs)
      for (const [kernel, inputsOf] of kernels) {
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

    for (const shape of [
      [2, 5, 7, 3],
      [10, 32, 32, 3],
    ])
      it(`DSA resampling and its adjoint (ours) vs the composites: x=[${shape}]`, async () => {
        const [n, h, w] = shape as [number, number, number, number];
        const taps = rotateTaps(
          n,
          h,
          w,
          Array.from({ length: n }, (_, i) => 0.4 * i - 1),
        );
        const index = tf.tensor1d(taps.index, 'int32');
        const weight = tf.tensor1d(taps.weight);
        const x = random(shape, 44);
        const both = () => [
          run(SampleTaps, { images: x, index, weight })[0]!,
          run(SampleTapsAdjoint, { dy: x, index, weight })[0]!,
        ];
        try {
          registerTensorflowKernels({ nativeOps: false });
          const composite = both();
          registerTensorflowKernels({ nativeOps: true });
          const native = both();
          for (const [i, t] of native.entries()) {
            expect(t.shape).toEqual(shape);
            expectClose(await t.data(), await composite[i]!.data(), 1e-6, SAMPLE_TAPS_KERNELS[i]!);
          }
          tf.dispose([...composite, ...native]);
        } finally {
          registerTensorflowKernels({ nativeOps: true });
          tf.dispose([x, index, weight]);
        }
      });

    it('element-wise Add, Sub and Multiply (ours for one shape or a scalar b) vs the stock kernels', async () => {
      const [v, w] = [random([317961], 46), random([317961], 47)];
      const [x, c] = [random([2, 3, 4, 5], 48), random([1, 5], 49)];
      const [s, t] = [tf.scalar(0.01), random([1, 1], 50)];
      const [i, j] = [tf.tensor1d([1, 2, 3], 'int32'), tf.tensor1d([4, 5, 6], 'int32')];
      // Ours: one shape, scalar b. The stock kernel: broadcasting, a scalar a, int32, b of higher rank.
      const all = () => [
        ...[tf.add, tf.sub, tf.mul].flatMap((f) => [f(v, w), f(v, s), f(x, t), f(x, c), f(s, v), f(i, j)]),
        tf.mul(tf.ones([3]), t),
      ];
      try {
        registerTensorflowKernels({ nativeOps: false });
        const stock = all();
        registerTensorflowKernels({ nativeOps: true });
        const backend = tf.backend() as unknown as {
          executeMultipleOutputs: (name: string, ...a: unknown[]) => unknown;
        };
        const execute = backend.executeMultipleOutputs;
        const ran: string[] = [];
        backend.executeMultipleOutputs = function (this: unknown, name: string, ...a: unknown[]) {
          ran.push(name);
          return execute.call(this, name, ...a);
        };
        const native = (() => {
          try {
            return all();
          } finally {
            backend.executeMultipleOutputs = execute;
          }
        })();
        expect(ran.filter((name) => name === 'HoptmBinary')).toHaveLength(9);
        for (const [k, out] of native.entries()) {
          expect(out.shape, `result ${k}`).toEqual(stock[k]!.shape);
          expect(out.dtype, `result ${k}`).toEqual(stock[k]!.dtype);
          expectClose(await out.data(), await stock[k]!.data(), 1e-7, `result ${k}`);
        }
        tf.dispose([...stock, ...native]);
      } finally {
        registerTensorflowKernels({ nativeOps: true });
        tf.dispose([v, w, x, c, s, t, i, j]);
      }
    });

    it('the resampling kernel refuses a tap outside the images, naming it', () => {
      const x = random([1, 2, 2, 1], 45);
      const index = tf.tensor1d([0, 1, 2, 4], 'int32');
      const weight = tf.ones([4]);
      expect(() => run(SampleTaps, { images: x, index, weight })).toThrow('index 4 is outside the 4 pixels');
      tf.dispose([x, index, weight]);
    });

    it('every kernel of the op library is registered on tensorflow', () => {
      for (const kernel of [...INSTANCE_NORM_KERNELS, ...SAMPLE_TAPS_KERNELS])
        expect(tf.getKernel(kernel, 'tensorflow')).toBeDefined();
    });

    it('the fused pool kernel refuses an odd height, saying why', () => {
      const inputs = { x: random([1, 3, 4, 2], 64), gamma: random([2], 65), beta: random([2], 66) };
      expect(() => run(InstanceNormReluPool, inputs)).toThrow(
        'the fused 2x2 pool needs an even height and width',
      );
      tf.dispose(Object.values(inputs));
    });
  },
  { backends: TEST_BACKENDS.filter((b) => b === 'tensorflow') },
);
