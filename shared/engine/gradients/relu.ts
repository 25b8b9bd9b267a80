import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelBackend, KernelConfig, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { withKernelScope } from '../kernels/compose.ts';
import { BACKEND_NAMES } from '../backends/types.ts';

/** Kernel name of the ReLU gradient dy * (y > 0); tfjs has no such kernel and composes it from Step. */
export const ReluGrad = 'HoptmReluGrad';

/**
 * On `tensorflow` one TensorFlow ReluGrad op; tfjs-node builds Step from five ops (IsNan, Greater, Fill,
 * Select, Cast) over the whole activation, which made ReLU's gradient ~8 % of a meta-gradient. Elsewhere
 * the stock composition, Step then Multiply, on the backend's own kernels.
 */
export const reluGradKernelConfigs: KernelConfig[] = BACKEND_NAMES.map((backendName) => ({
  kernelName: ReluGrad,
  backendName,
  kernelFunc: ({ inputs, backend }) => {
    const { dy, y } = inputs as { dy: TensorInfo; y: TensorInfo };
    if (backendName === 'tensorflow') {
      const node = backend as unknown as {
        binding: { TF_ATTR_TYPE: number; TF_FLOAT: number };
        executeSingleOutput(name: string, attrs: object[], inputs: TensorInfo[]): TensorInfo;
      };
      const type = { name: 'T', type: node.binding.TF_ATTR_TYPE, value: node.binding.TF_FLOAT };
      return node.executeSingleOutput('ReluGrad', [type], [dy, y]);
    }
    return withKernelScope(backend as KernelBackend, backendName, (scope) =>
      scope.keep(scope.run(tf.Multiply, { a: dy, b: scope.run(tf.Step, { x: y }, { alpha: 0 }) })),
    );
  },
}));

/** dy * (y > 0), where y is the ReLU's input or output (the same sign pattern). */
export function reluGrad<T extends Tensor>(dy: T, y: Tensor): T {
  return tf.engine().runKernel(ReluGrad, { dy, y }) as T;
}

/**
 * ReLU's gradient on its saved output. tfjs saves outputs as clones that its tape does not connect (the
 * trap gradients/exp.ts works around), so the mask is a constant to any outer gradient: right here,
 * because the mask is piecewise constant, and it spares the zero tensor an outer gradient would add.
 */
export const reluGradConfig: GradConfig = {
  kernelName: tf.Relu,
  outputsToSave: [true],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
    const [y] = saved as [Tensor];
    return { x: () => reluGrad(dy as Tensor, y) };
  },
};

/** Linear in dy with the same mask; zero in the mask's input (computed only if a tape connects it). */
export const reluGradGradConfig: GradConfig = {
  kernelName: ReluGrad,
  inputsToSave: ['y'],
  gradFunc: (ddx: Tensor | Tensor[], saved: Tensor[]) => {
    const [y] = saved as [Tensor];
    return { dy: () => reluGrad(ddx as Tensor, y), y: () => tf.zerosLike(y) };
  },
};

/** Registers the kernel for every backend; idempotent. */
export function registerReluGradKernels(): void {
  for (const config of reluGradKernelConfigs) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) tf.registerKernel(config);
  }
}
