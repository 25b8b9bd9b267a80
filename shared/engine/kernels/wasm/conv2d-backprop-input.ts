import { tf } from '../../tf.ts';
import type {
  Conv2DBackpropInputAttrs,
  KernelBackend,
  KernelConfig,
  KernelFunc,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import { withKernelScope } from '../compose.ts';

/**
 * Conv2DBackpropInput for the wasm backend, replacing tfjs-backend-wasm's own, which is a naive loop outside
 * XNNPACK: ~1,000-1,400 ms on the PathMNIST layer (dy [10,32,32,128], 3x3x128x128, same), 10x a forward
 * convolution. It runs on every conv layer's backward pass and twice more in the second-order one.
 *
 * With stride 1 the input gradient is a forward convolution of dy with the filter flipped in space and its
 * channels swapped: dx[h] = sum over i of dy[h + i - (fh - 1 - padTop)] * w[fh - 1 - i], padded by
 * fh - 1 - padTop above and fh - 1 - padBottom below (likewise for width), on XNNPACK's Conv2D (~140 ms
 * there, equal results). Strides > 1 and paddings wider than the filter go to the stock kernel.
 */
let stock: KernelConfig | undefined;

export const conv2DBackpropInput: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as Conv2DBackpropInputAttrs;
  const where = 'Error in Conv2DBackpropInput (wasm)';
  if (dy.shape.length !== 4 || filter.shape.length !== 4 || inputShape.length !== 4) {
    throw new Error(
      `${where}: dy, filter and inputShape must have rank 4, got dy [${dy.shape}], filter [${filter.shape}], inputShape [${inputShape}]`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(dataFormat),
  );
  const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
  if (dataFormat === 'NHWC' && dy.shape.some((d, i) => d !== expected[i])) {
    throw new Error(
      `${where}: dy must have shape [${expected}] for inputShape [${inputShape}] and this filter/stride/pad, got [${dy.shape}]`,
    );
  }
  const { filterHeight, filterWidth, padInfo } = info;
  const padding = {
    top: filterHeight - 1 - padInfo.top,
    bottom: filterHeight - 1 - padInfo.bottom,
    left: filterWidth - 1 - padInfo.left,
    right: filterWidth - 1 - padInfo.right,
  };
  const fast =
    dataFormat === 'NHWC' &&
    info.strideHeight === 1 &&
    info.strideWidth === 1 &&
    dy.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    Object.values(padding).every((p) => p >= 0);
  if (!fast) {
    if (stock === undefined)
      throw new Error(`${where}: no stock kernel captured for this case (registerWasmKernels not run?)`);
    return stock.kernelFunc(args);
  }

  return withKernelScope(backend as KernelBackend, 'wasm', (scope) => {
    const flipped = scope.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
    const swapped = scope.run(tf.Transpose, { x: flipped }, { perm: [0, 1, 3, 2] });
    scope.release(flipped);
    return scope.keep(
      scope.run(
        tf.Conv2D,
        { x: dy, filter: swapped },
        {
          strides: [1, 1],
          pad: [
            [0, 0],
            [padding.top, padding.bottom],
            [padding.left, padding.right],
            [0, 0],
          ],
          dataFormat: 'NHWC',
          dilations: [1, 1],
        },
      ),
    );
  });
};

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  // The stock kernel binds its wasm function at backend setup; it must still happen, for the cases it keeps.
  setupFunc: (backend) => stock?.setupFunc?.(backend),
  kernelFunc: conv2DBackpropInput,
};

/** Keeps tfjs-backend-wasm's own kernel, before ours replaces it, for the cases ours hands back to it. */
export function captureStockConv2DBackpropInput(): void {
  const current = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  if (current !== undefined && current.kernelFunc !== conv2DBackpropInput) stock = current;
}
