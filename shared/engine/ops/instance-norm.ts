import * as tf from '@tensorflow/tfjs-core';
import type {
  GradConfig,
  KernelBackend,
  KernelConfig,
  NamedAttrMap,
  Tensor,
  TensorInfo,
  Tensor4D,
} from '@tensorflow/tfjs-core';
import { withKernelScope, type KernelScope } from '../kernels/compose.ts';
import { BACKEND_NAMES } from '../backends/types.ts';
import { ReluGrad } from '../gradients/relu.ts';

/** PyTorch's GroupNorm/InstanceNorm default. */
export const NORM_EPS = 1e-5;

/**
 * Instance norm (GroupNorm with one group per channel, NHWC) as three kernels: the norm, its gradient, and
 * the gradient of that gradient (the meta-gradient differentiates the student's gradient, so it runs all
 * three at every layer of every inner step). tfjs's own differentiation of the composite, gradient of a
 * gradient included, took ~40 activation-sized ops per layer and was the largest share of a meta-gradient;
 * as kernels each is one pass-fused formula (closed forms in docs/backends.md):
 *   y = xhat * gamma + beta, with xhat = (x - mean) * r, r = 1/sqrt(var + eps), statistics over H, W;
 *   grad:      (x, gamma, dy) -> (dx, dgamma, dbeta);
 *   grad-grad: (x, gamma, dy, gx, ggamma, gbeta) -> d/d(x, gamma, dy) of <gx,dx> + <ggamma,dgamma> + <gbeta,dbeta>.
 * The same three with the ReLU that follows the norm in every ConvNet block fused in (`instanceNormRelu`):
 * their gradients take the output y for the mask y > 0, piecewise constant, so no derivative flows through it.
 * And the same three with the 2x2 average pool after the ReLU fused in too (`instanceNormReluPool`, every
 * ConvNet block): the gradients take the pooled dy and recompute the mask from x, gamma and beta (the norm's
 * full-size output, its pool and the pool's gradient are then never written: ~15 % of a meta-gradient).
 * Every backend composes them from its own kernels; on `tensorflow` they are single TensorFlow ops when
 * the project's op library is loaded (kernels/tensorflow/hoptm-ops.cc). Each kernel recomputes the
 * statistics from x rather than taking forward values, so every derivative stays a function of the
 * inputs the tape connects (values saved inside a custom op would be constants to an outer gradient).
 */
export const InstanceNorm = 'HoptmInstanceNorm';
export const InstanceNormGrad = 'HoptmInstanceNormGrad';
export const InstanceNormGradGrad = 'HoptmInstanceNormGradGrad';
export const InstanceNormRelu = 'HoptmInstanceNormRelu';
export const InstanceNormReluGrad = 'HoptmInstanceNormReluGrad';
export const InstanceNormReluGradGrad = 'HoptmInstanceNormReluGradGrad';
export const InstanceNormReluPool = 'HoptmInstanceNormReluPool';
export const InstanceNormReluPoolGrad = 'HoptmInstanceNormReluPoolGrad';
export const InstanceNormReluPoolGradGrad = 'HoptmInstanceNormReluPoolGradGrad';

export function instanceNorm(x: Tensor4D, gamma: Tensor, beta: Tensor): Tensor4D {
  return normKernel(InstanceNorm, 'instanceNorm', x, gamma, beta);
}

/** relu(instanceNorm(x, gamma, beta)) as one kernel. */
export function instanceNormRelu(x: Tensor4D, gamma: Tensor, beta: Tensor): Tensor4D {
  return normKernel(InstanceNormRelu, 'instanceNormRelu', x, gamma, beta);
}

/**
 * avgPool(relu(instanceNorm(x, gamma, beta)), 2, 2, 'valid') as one kernel, for an even height and width
 * (`canFusePool`; an odd one would drop the last row or column, which the fused gradients do not model).
 */
export function instanceNormReluPool(x: Tensor4D, gamma: Tensor, beta: Tensor): Tensor4D {
  if (!canFusePool(x.shape)) {
    throw new Error(
      `instanceNormReluPool: expected NHWC activations of even height and width, got [${x.shape}]`,
    );
  }
  return normKernel(InstanceNormReluPool, 'instanceNormReluPool', x, gamma, beta);
}

export const canFusePool = (shape: readonly number[]): boolean =>
  shape.length === 4 && shape[1]! % 2 === 0 && shape[2]! % 2 === 0;

function normKernel(kernel: string, op: string, x: Tensor4D, gamma: Tensor, beta: Tensor): Tensor4D {
  if (x.rank !== 4) throw new Error(`${op}: expected NHWC activations, got [${x.shape}]`);
  const c = x.shape[3];
  if (gamma.size !== c || beta.size !== c) {
    throw new Error(`${op}: gamma [${gamma.shape}] and beta [${beta.shape}] must have ${c} values`);
  }
  return tf.engine().runKernel(kernel, { x, gamma, beta }, { epsilon: NORM_EPS }) as Tensor4D;
}

type Saved = Tensor[];
const epsilonOf = (attrs?: NamedAttrMap): number => (attrs?.epsilon as number | undefined) ?? NORM_EPS;

/**
 * What the gradient kernels of a fused ReLU take for its mask: the norm's output y (a saved output: a clone
 * the tape does not connect, right for a piecewise-constant mask), or, with the pool fused too, beta (the
 * kernels recompute the mask from x, gamma and beta). Either gets a zero gradient from the grad-grad.
 */
type MaskSource = 'y' | 'beta' | undefined;

/** The norm's gradient runs its gradient kernel. */
function normGradConfig(kernelName: string, gradKernel: string, mask: MaskSource): GradConfig {
  return {
    kernelName,
    inputsToSave: mask === 'beta' ? ['x', 'gamma', 'beta'] : ['x', 'gamma'],
    outputsToSave: mask === 'y' ? [true] : undefined,
    gradFunc: (dy: Tensor | Tensor[], saved: Saved, attrs?: NamedAttrMap) => {
      const [x, gamma, source] = saved as [Tensor, Tensor, Tensor | undefined];
      const inputs = { x, gamma, ...(mask ? { [mask]: source! } : {}), dy: dy as Tensor };
      const [dx, dgamma, dbeta] = tf
        .engine()
        .runKernel(gradKernel, inputs, { epsilon: epsilonOf(attrs) }) as Tensor[];
      return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
    },
  };
}

/**
 * The gradient kernel's gradient runs the grad-grad kernel. Outputs that no gradient reaches come as null;
 * they contribute nothing, as zeros. The mask's source (piecewise constant) gets a zero gradient.
 */
function normGradGradConfig(gradKernel: string, gradGradKernel: string, mask: MaskSource): GradConfig {
  return {
    kernelName: gradKernel,
    inputsToSave: mask ? ['x', 'gamma', mask, 'dy'] : ['x', 'gamma', 'dy'],
    gradFunc: (dys: Tensor | Tensor[], saved: Saved, attrs?: NamedAttrMap) => {
      const [x, gamma] = saved as [Tensor, Tensor];
      const [source, dy] = mask ? [saved[2]!, saved[3]!] : [undefined, saved[2]!];
      const [gx, ggamma, gbeta] = dys as (Tensor | null)[];
      const inputs = {
        x,
        gamma,
        ...(mask ? { [mask]: source! } : {}),
        dy,
        gx: gx ?? tf.zerosLike(x),
        ggamma: ggamma ?? tf.zerosLike(gamma),
        gbeta: gbeta ?? tf.zerosLike(gamma),
      };
      const [dx, dgamma, ddy] = tf
        .engine()
        .runKernel(gradGradKernel, inputs, { epsilon: epsilonOf(attrs) }) as Tensor[];
      return {
        x: () => dx!,
        gamma: () => dgamma!,
        dy: () => ddy!,
        ...(mask ? { [mask]: () => tf.zerosLike(source!) } : {}),
      };
    },
  };
}

export const instanceNormGradConfigs: GradConfig[] = [
  normGradConfig(InstanceNorm, InstanceNormGrad, undefined),
  normGradGradConfig(InstanceNormGrad, InstanceNormGradGrad, undefined),
  normGradConfig(InstanceNormRelu, InstanceNormReluGrad, 'y'),
  normGradGradConfig(InstanceNormReluGrad, InstanceNormReluGradGrad, 'y'),
  normGradConfig(InstanceNormReluPool, InstanceNormReluPoolGrad, 'beta'),
  normGradGradConfig(InstanceNormReluPoolGrad, InstanceNormReluPoolGradGrad, 'beta'),
];

/** The method needs second order only; say so rather than fail deep in tfjs. */
export const instanceNormThirdOrderConfigs: GradConfig[] = [
  InstanceNormGradGrad,
  InstanceNormReluGradGrad,
  InstanceNormReluPoolGradGrad,
].map((kernelName) => ({
  kernelName,
  gradFunc: () => {
    throw new Error(
      'instance norm: third-order derivatives are not implemented (the method needs second order)',
    );
  },
}));

interface Normalised {
  m: number;
  mean: TensorInfo;
  r: TensorInfo;
  xhat: TensorInfo;
}

/** The backend's own kernels, with the few element-wise forms the three formulas need. */
class Ops {
  constructor(private readonly scope: KernelScope) {}
  run = (kernel: string, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo =>
    this.scope.run(kernel, inputs, attrs);
  mul = (a: TensorInfo, b: TensorInfo): TensorInfo => this.scope.run(tf.Multiply, { a, b });
  add = (a: TensorInfo, b: TensorInfo): TensorInfo => this.scope.run(tf.Add, { a, b });
  sub = (a: TensorInfo, b: TensorInfo): TensorInfo => this.scope.run(tf.Sub, { a, b });
  scalar = (value: number): TensorInfo => this.scope.run(tf.Fill, [], { shape: [], value, dtype: 'float32' });
  scale = (a: TensorInfo, value: number): TensorInfo => this.mul(a, this.scalar(value));
  /** Per (sample, channel) sums over H, W: [N, 1, 1, C]. */
  sumHW = (x: TensorInfo): TensorInfo => this.scope.run(tf.Sum, { x }, { axis: [1, 2], keepDims: true });
  /** Per-channel sums over N of a [N, 1, 1, C] statistic: [C]. */
  sumN = (x: TensorInfo): TensorInfo => this.scope.run(tf.Sum, { x }, { axis: [0, 1, 2], keepDims: false });

  private readonly normalised = new Map<TensorInfo, Normalised>();

  /**
   * m = H * W, the mean and r = 1/sqrt(var + eps) per group, and xhat; computed once per x and kernel call
   * (the fused pool's composites need it for the mask and for the formula).
   */
  normalise(x: TensorInfo, epsilon: number): Normalised {
    const known = this.normalised.get(x);
    if (known !== undefined) return known;
    const result = this.computeNormalise(x, epsilon);
    this.normalised.set(x, result);
    return result;
  }

  private computeNormalise(x: TensorInfo, epsilon: number): Normalised {
    const m = x.shape[1]! * x.shape[2]!;
    const mean = this.scale(this.sumHW(x), 1 / m);
    const centred = this.sub(x, mean);
    const variance = this.scale(this.sumHW(this.scope.run(tf.Square, { x: centred })), 1 / m);
    const r = this.scope.run(tf.Rsqrt, { x: this.add(variance, this.scalar(epsilon)) });
    return { m, mean, r, xhat: this.mul(centred, r) };
  }
}

type Composite = (ops: Ops, inputs: Record<string, TensorInfo>, epsilon: number) => TensorInfo[];

const compositeForward: Composite = (ops, { x, gamma, beta }, epsilon) => {
  const { xhat } = ops.normalise(x!, epsilon);
  return [ops.add(ops.mul(xhat, gamma!), beta!)];
};

// dx = gamma r (dy - Sb/m - xhat Pb/m), dgamma = sum_n Pb, dbeta = sum_n Sb.
const compositeGrad: Composite = (ops, { x, gamma, dy }, epsilon) => {
  const { m, r, xhat } = ops.normalise(x!, epsilon);
  const sb = ops.sumHW(dy!);
  const pb = ops.sumHW(ops.mul(dy!, xhat));
  const gr = ops.mul(r, gamma!);
  const dx = ops.add(
    ops.add(ops.mul(dy!, gr), ops.mul(xhat, ops.scale(ops.mul(gr, pb), -1 / m))),
    ops.scale(ops.mul(gr, sb), -1 / m),
  );
  return [dx, ops.sumN(pb), ops.sumN(sb)];
};

// The formulas of hoptm-ops.cc's ComputeGradGrad, with a = gx and b = dy.
const compositeGradGrad: Composite = (ops, { x, gamma, dy, gx, ggamma, gbeta }, epsilon) => {
  const { m, r, xhat } = ops.normalise(x!, epsilon);
  const [a, b] = [gx!, dy!];
  const sa = ops.sumHW(a);
  const sb = ops.sumHW(b);
  const pa = ops.sumHW(ops.mul(a, xhat));
  const pb = ops.sumHW(ops.mul(b, xhat));
  const t = ops.sub(ops.sumHW(ops.mul(a, b)), ops.scale(ops.add(ops.mul(sa, sb), ops.mul(pa, pb)), 1 / m));
  const gr = ops.mul(gamma!, r);
  const gr2 = ops.mul(gr, r);
  const ggr = ops.mul(ggamma!, r);
  const k1 = ops.sub(
    ops.mul(gr2, ops.scale(ops.sub(ops.scale(ops.mul(pa, pb), 2 / m), t), 1 / m)),
    ops.scale(ops.mul(ggr, pb), 1 / m),
  );
  const dx = ops.add(
    ops.add(ops.mul(xhat, k1), ops.mul(a, ops.scale(ops.mul(gr2, pb), -1 / m))),
    ops.add(
      ops.mul(b, ops.sub(ggr, ops.scale(ops.mul(gr2, pa), 1 / m))),
      ops.sub(
        ops.scale(ops.mul(gr2, ops.add(ops.mul(pb, sa), ops.mul(pa, sb))), 1 / (m * m)),
        ops.scale(ops.mul(ggr, sb), 1 / m),
      ),
    ),
  );
  const ddy = ops.add(
    ops.add(ops.mul(a, gr), ops.mul(xhat, ops.sub(ggamma!, ops.scale(ops.mul(gr, pa), 1 / m)))),
    ops.sub(gbeta!, ops.scale(ops.mul(gr, sa), 1 / m)),
  );
  return [dx, ops.sumN(ops.mul(r, t)), ddy];
};

/** The fused ReLU around a composite: y > 0 masks dy on the way in and d/ddy on the way out. */
const withRelu =
  (composite: Composite, masks: { input: boolean; output?: number }): Composite =>
  (ops, inputs, epsilon) => {
    const { y, dy } = inputs;
    const mask = (v: TensorInfo): TensorInfo => ops.run(ReluGrad, { dy: v, y: y! });
    const outputs = composite(ops, masks.input ? { ...inputs, dy: mask(dy!) } : inputs, epsilon);
    return outputs.map((out, i) => (i === masks.output ? mask(out) : out));
  };

const POOL = { filterSize: [2, 2], strides: [2, 2], pad: 'valid' } as const;

/**
 * The fused ReLU and pool around a composite: the mask y > 0 is recomputed from x, gamma and beta; dy comes
 * pooled, spread by the pool's gradient and masked on the way in; d/ddy is masked and pooled on the way out.
 */
const withReluPool =
  (composite: Composite, output?: number): Composite =>
  (ops, inputs, epsilon) => {
    const y = ops.run(tf.Relu, { x: compositeForward(ops, inputs, epsilon)[0]! });
    const mask = (v: TensorInfo): TensorInfo => ops.run(ReluGrad, { dy: v, y });
    const dy = mask(ops.run(tf.AvgPoolGrad, { dy: inputs.dy!, input: y }, POOL));
    const outputs = composite(ops, { ...inputs, dy }, epsilon);
    return outputs.map((out, i) => (i === output ? ops.run(tf.AvgPool, { x: mask(out) }, POOL) : out));
  };

const COMPOSITES: Record<string, Composite> = {
  [InstanceNorm]: compositeForward,
  [InstanceNormGrad]: compositeGrad,
  [InstanceNormGradGrad]: compositeGradGrad,
  [InstanceNormRelu]: (ops, inputs, epsilon) => [
    ops.run(tf.Relu, { x: compositeForward(ops, inputs, epsilon)[0]! }),
  ],
  [InstanceNormReluGrad]: withRelu(compositeGrad, { input: true }),
  [InstanceNormReluGradGrad]: withRelu(compositeGradGrad, { input: true, output: 2 }),
  [InstanceNormReluPool]: (ops, inputs, epsilon) => [
    ops.run(tf.AvgPool, { x: ops.run(tf.Relu, { x: compositeForward(ops, inputs, epsilon)[0]! }) }, POOL),
  ],
  [InstanceNormReluPoolGrad]: withReluPool(compositeGrad),
  [InstanceNormReluPoolGradGrad]: withReluPool(compositeGradGrad, 2),
};

/** Each kernel composed from the backend's own kernels (every backend; tensorflow without the op library). */
export function compositeInstanceNormKernel(kernelName: string, backendName: string): KernelConfig {
  const composite = COMPOSITES[kernelName];
  if (composite === undefined) throw new Error(`no instance norm kernel '${kernelName}'`);
  return {
    kernelName,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) =>
      withKernelScope(backend as KernelBackend, backendName, (scope) => {
        const outputs = composite(new Ops(scope), inputs as Record<string, TensorInfo>, epsilonOf(attrs));
        const kept = outputs.map((info) => scope.keep(info));
        return kept.length === 1 ? kept[0]! : kept;
      }),
  };
}

export const INSTANCE_NORM_KERNELS = [
  InstanceNorm,
  InstanceNormGrad,
  InstanceNormGradGrad,
  InstanceNormRelu,
  InstanceNormReluGrad,
  InstanceNormReluGradGrad,
  InstanceNormReluPool,
  InstanceNormReluPoolGrad,
  InstanceNormReluPoolGradGrad,
] as const;

/** Registers the composite kernels for every backend; idempotent. */
export function registerInstanceNormKernels(): void {
  for (const backendName of BACKEND_NAMES) {
    for (const kernelName of INSTANCE_NORM_KERNELS) {
      if (tf.getKernel(kernelName, backendName) === undefined) {
        tf.registerKernel(compositeInstanceNormKernel(kernelName, backendName));
      }
    }
  }
}
