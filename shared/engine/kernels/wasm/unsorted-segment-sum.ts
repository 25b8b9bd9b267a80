import { tf } from '../../tf.ts';
import type { KernelConfig, KernelFunc, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * UnsortedSegmentSum for the wasm backend, which ships none. It is the gradient of GatherV2, so the
 * augmentation's bilinear sampling needs it in the backward pass; it is small there (one image batch), so a
 * plain loop in JS over the wasm heap is enough.
 *
 * out[s, ...] = sum of x[r, ...] over the rows r with segmentIds[r] == s. Like the cpu backend, ids outside
 * [0, numSegments) contribute nothing, and the result has x's dtype.
 */
export const unsortedSegmentSum: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const where = 'Error in UnsortedSegmentSum (wasm)';
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`${where}: numSegments must be a non-negative integer, got ${numSegments}`);
  }
  if (segmentIds.shape.length !== 1 || x.shape.length < 1 || segmentIds.shape[0] !== x.shape[0]) {
    throw new Error(
      `${where}: segmentIds must be a vector with one id per row of x, got segmentIds [${segmentIds.shape}] for x [${x.shape}]`,
    );
  }
  if (segmentIds.dtype !== 'int32') {
    throw new Error(`${where}: segmentIds must be int32, got ${segmentIds.dtype}`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`${where}: x must be float32 or int32, got ${x.dtype}`);
  }
  const wasm = backend as BackendWasm;
  const rows = x.shape[0]!;
  const rowSize = tf.util.sizeFromShape(x.shape.slice(1));
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
  // Views are taken after makeOutput: its allocation may grow (and so move) the heap.
  const outValues = wasm.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const xValues = wasm.typedArrayFromHeap(x);
  const ids = wasm.typedArrayFromHeap(segmentIds) as Int32Array;
  outValues.fill(0);
  for (let r = 0; r < rows; r++) {
    const s = ids[r]!;
    if (s < 0 || s >= numSegments) continue;
    const from = r * rowSize;
    const to = s * rowSize;
    for (let k = 0; k < rowSize; k++) outValues[to + k]! += xValues[from + k]!;
  }
  return out;
};

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
