import * as tf from '@tensorflow/tfjs-core';
import type {
  KernelConfig,
  TensorInfo,
  UnsortedSegmentSumAttrs,
  UnsortedSegmentSumInputs,
} from '@tensorflow/tfjs-core';

/** The slice of the cpu backend's API this kernel uses (MathBackendCPU is not exported as a type). */
interface CpuBackend {
  data: { get(dataId: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: 'float32' | 'int32', values: Float32Array | Int32Array): TensorInfo;
}

/**
 * Linear-time replacement for tfjs-backend-cpu's UnsortedSegmentSum, which builds one equality mask per
 * segment (O(segments x elements)) and dominated the meta-gradient on cpu: it is the gradient of every
 * gather (minibatch selection, DSA resampling). Ids outside [0, numSegments) are dropped, as in tfjs.
 */
export const unsortedSegmentSumCpuConfig: KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as UnsortedSegmentSumInputs;
    const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
    const cpu = backend as unknown as CpuBackend;
    const values = cpu.data.get(x!.dataId).values;
    const ids = cpu.data.get(segmentIds!.dataId).values;
    const inner = x!.shape.slice(segmentIds!.shape.length).reduce((a, b) => a * b, 1);
    const out =
      x!.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
    for (let i = 0; i < ids.length; i++) {
      const s = ids[i]!;
      if (s < 0 || s >= numSegments) continue;
      const src = i * inner;
      const dst = s * inner;
      for (let j = 0; j < inner; j++) out[dst + j]! += values[src + j]!;
    }
    return cpu.makeTensorInfo(
      [numSegments, ...x!.shape.slice(segmentIds!.shape.length)],
      x!.dtype as 'float32' | 'int32',
      out,
    );
  },
};
