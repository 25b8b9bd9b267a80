import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../shared/engine/tf.ts';
import type { Scalar, Tensor, Tensor1D, Tensor2D, Tensor4D } from '../../shared/engine/tf.ts';
import { initBackend } from '../../shared/engine/backends/index.ts';
import { WASM_KERNELS, assertWasmKernelsInForce } from '../../shared/engine/kernels/wasm/register.ts';
import { expectClose } from '../helpers/compare.ts';
import { randomValues } from '../helpers/finite-differences.ts';
import { TEST_BACKEND_OPTIONS } from '../helpers/backends.ts';

// Each kernel we add to the wasm backend, against the cpu backend's result (the reference for every kernel
// the two share), on the kernel alone, on the first gradient through it and on the second. Inputs are built
// inside each run, on the backend under test, from the same seeded values.
const TOLERANCE = 1e-5;

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Result {
  shape: number[];
  dtype: string;
  values: Float32Array | Int32Array | Uint8Array;
}

/** Runs `f` on `backend` and reads its result back (asynchronously, as every backend allows). */
async function runOn(backend: 'cpu' | 'wasm', f: () => Tensor): Promise<Result> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const values = (await out.data()) as Result['values'];
  const result = { shape: out.shape, dtype: out.dtype, values };
  out.dispose();
  return result;
}

async function expectWasmMatchesCpu(f: () => Tensor, what: string): Promise<void> {
  const cpu = await runOn('cpu', f);
  const wasm = await runOn('wasm', f);
  expect(wasm.shape, `${what}: shape`).toEqual(cpu.shape);
  expect(wasm.dtype, `${what}: dtype`).toBe(cpu.dtype);
  if (cpu.values.every((v) => v === 0))
    throw new Error(`${what}: the cpu result is all zeros; the case tests nothing`);
  expectClose(wasm.values, cpu.values, TOLERANCE, what);
}

const t4 = (shape: Shape4, seed: number, scale = 1): Tensor4D =>
  tf.tensor4d(randomValues(size(shape), seed, scale), shape);
const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
const weighted = (y: Tensor, seed: number): Scalar =>
  tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, seed), y.shape))) as Scalar;

function backpropFilter(x: Tensor4D, dy: Tensor4D, filterShape: Shape4, strides: number, pad: Pad): Tensor4D {
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
    strides,
    pad,
    dataFormat: 'NHWC',
    filterShape,
  } as never) as Tensor4D;
}

function wasmDataIds(): number {
  return (tf.engine().findBackend('wasm') as BackendWasm).numDataIds();
}

beforeAll(async () => {
  await initBackend('wasm', () => {}, TEST_BACKEND_OPTIONS);
  await initBackend('cpu', () => {});
});

describe('wasm kernel registration', () => {
  it('each added kernel is the one registered for wasm', () => {
    const names = [tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.UnsortedSegmentSum];
    expect(WASM_KERNELS.map((k) => k.kernelName).sort()).toEqual(names.sort());
    for (const config of WASM_KERNELS)
      expect(tf.getKernel(config.kernelName, 'wasm')?.kernelFunc).toBe(config.kernelFunc);
    expect(() => assertWasmKernelsInForce()).not.toThrow();
  });
});

// Each case: x, filter and pad; dy's shape follows from the forward convolution.
const conv2DCases: { name: string; x: Shape4; f: Shape4; s: number; pad: Pad }[] = [
  {
    name: 'x=[2,5,5,3] dy=[2,5,5,4] f=3x3 s=1 pad=same',
    x: [2, 5, 5, 3],
    f: [3, 3, 3, 4],
    s: 1,
    pad: 'same',
  },
  {
    name: 'x=[1,6,6,2] dy=[1,4,4,3] f=3x3 s=1 pad=valid',
    x: [1, 6, 6, 2],
    f: [3, 3, 2, 3],
    s: 1,
    pad: 'valid',
  },
  {
    name: 'x=[2,7,7,3] dy=[2,4,4,5] f=3x3 s=2 pad=same',
    x: [2, 7, 7, 3],
    f: [3, 3, 3, 5],
    s: 2,
    pad: 'same',
  },
  {
    name: 'x=[2,8,8,3] dy=[2,3,3,2] f=3x3 s=2 pad=valid',
    x: [2, 8, 8, 3],
    f: [3, 3, 3, 2],
    s: 2,
    pad: 'valid',
  },
  {
    name: 'x=[1,5,6,2] dy=[1,5,6,3] f=2x3 s=1 pad=same (asymmetric padding)',
    x: [1, 5, 6, 2],
    f: [2, 3, 2, 3],
    s: 1,
    pad: 'same',
  },
  {
    name: 'x=[2,6,6,3] dy=[2,6,6,4] f=1x1 s=1 pad=valid (one tap)',
    x: [2, 6, 6, 3],
    f: [1, 1, 3, 4],
    s: 1,
    pad: 'valid',
  },
  { name: 'x=[1,5,5,2] dy=[1,5,5,3] f=3x3 s=1 pad=1', x: [1, 5, 5, 2], f: [3, 3, 2, 3], s: 1, pad: 1 },
  {
    name: 'x=[1,5,5,2] dy=[1,6,5,3] f=3x3 s=1 pad=explicit [1,2]x[2,0]',
    x: [1, 5, 5, 2],
    f: [3, 3, 2, 3],
    s: 1,
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  {
    name: 'x=[2,16,16,32] dy=[2,16,16,32] f=3x3 s=1 pad=same (a ConvNet layer, small)',
    x: [2, 16, 16, 32],
    f: [3, 3, 32, 32],
    s: 1,
    pad: 'same',
  },
];

const forwardShape = (c: (typeof conv2DCases)[number]): Shape4 =>
  tf.tidy(() => tf.conv2d(tf.zeros(c.x) as Tensor4D, tf.zeros(c.f) as Tensor4D, c.s, c.pad).shape);

describe('Conv2DBackpropFilter on wasm vs cpu', () => {
  for (const c of conv2DCases) {
    it(`kernel: ${c.name}`, async () => {
      const dyShape = forwardShape(c);
      await expectWasmMatchesCpu(() => backpropFilter(t4(c.x, 1), t4(dyShape, 2), c.f, c.s, c.pad), c.name);
    });
  }

  for (const c of conv2DCases.slice(0, 4)) {
    it(`first order, d loss/d filter: ${c.name}`, async () => {
      await expectWasmMatchesCpu(() => {
        const x = t4(c.x, 3);
        const loss = (w: Tensor): Scalar => weighted(tf.square(tf.conv2d(x, w as Tensor4D, c.s, c.pad)), 4);
        return tf.grad(loss)(t4(c.f, 5, 0.5));
      }, c.name);
    });

    it(`second order, d<d loss/d filter, v>/d x: ${c.name}`, async () => {
      await expectWasmMatchesCpu(() => {
        const w = t4(c.f, 6, 0.5);
        const v = t4(c.f, 7);
        // The inner gradient runs Conv2DBackpropFilter(x, dy(x)); the outer one differentiates through both.
        const inner = (x: Tensor): Scalar => {
          const loss = (ww: Tensor): Scalar =>
            weighted(tf.square(tf.conv2d(x as Tensor4D, ww as Tensor4D, c.s, c.pad)), 8);
          return tf.sum(tf.mul(tf.grad(loss)(w), v)) as Scalar;
        };
        return tf.grad(inner)(t4(c.x, 9));
      }, c.name);
    });
  }

  it('throws when dy does not have the forward output shape: x=[2,5,5,3] dy=[2,4,4,4] f=3x3 pad=same', async () => {
    await tf.setBackend('wasm');
    const [x, dy] = [t4([2, 5, 5, 3], 1), t4([2, 4, 4, 4], 2)];
    expect(() => backpropFilter(x, dy, [3, 3, 3, 4], 1, 'same')).toThrow(
      'Error in Conv2DBackpropFilter (wasm): dy must have shape [2,5,5,4] for x [2,5,5,3] and this filter/stride/pad, got [2,4,4,4]',
    );
    tf.dispose([x, dy]);
  });

  it("throws when x's depth differs from the filter's: x=[2,5,5,2] f=3x3x3x4", async () => {
    await tf.setBackend('wasm');
    const [x, dy] = [t4([2, 5, 5, 2], 1), t4([2, 5, 5, 4], 2)];
    expect(() => backpropFilter(x, dy, [3, 3, 3, 4], 1, 'same')).toThrow(
      "Error in Conv2DBackpropFilter (wasm): depth of input x (2) must match the filter's input depth (3)",
    );
    tf.dispose([x, dy]);
  });

  it('throws when dataFormat is NCHW', async () => {
    await tf.setBackend('wasm');
    const [x, dy] = [t4([2, 5, 5, 3], 1), t4([2, 5, 5, 4], 2)];
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
    expect(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as never)).toThrow(
      "Error in Conv2DBackpropFilter (wasm): dataFormat must be 'NHWC', got 'NCHW'",
    );
    tf.dispose([x, dy]);
  });

  it('leaks nothing: kernel, first and second order, x=[2,5,5,3] f=3x3 s=2', async () => {
    await tf.setBackend('wasm');
    const x = t4([2, 5, 5, 3], 1);
    const w = t4([3, 3, 3, 4], 2);
    const [tensors, dataIds] = [tf.memory().numTensors, wasmDataIds()];
    tf.tidy(() => {
      const inner = (xx: Tensor): Scalar => {
        const loss = (ww: Tensor): Scalar =>
          weighted(tf.square(tf.conv2d(xx as Tensor4D, ww as Tensor4D, 2, 'same')), 3);
        return tf.sum(tf.grad(loss)(w)) as Scalar;
      };
      tf.grad(inner)(x).dataSync();
    });
    expect([tf.memory().numTensors, wasmDataIds()]).toEqual([tensors, dataIds]);
    tf.dispose([x, w]);
  });
});

function backpropInput(
  dy: Tensor4D,
  filter: Tensor4D,
  inputShape: Shape4,
  strides: number,
  pad: Pad,
): Tensor4D {
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, {
    strides,
    pad,
    dataFormat: 'NHWC',
    inputShape,
  } as never) as Tensor4D;
}

describe('Conv2DBackpropInput on wasm (ours: stride 1 as a flipped forward conv; else the stock kernel) vs cpu', () => {
  for (const c of conv2DCases) {
    it(`kernel: ${c.name.replace(/^x=/, 'dx=')}`, async () => {
      const dyShape = forwardShape(c);
      await expectWasmMatchesCpu(() => backpropInput(t4(dyShape, 1), t4(c.f, 2), c.x, c.s, c.pad), c.name);
    });
  }

  for (const c of conv2DCases.slice(0, 4)) {
    it(`first order, d loss/d x: ${c.name}`, async () => {
      await expectWasmMatchesCpu(() => {
        const w = t4(c.f, 3, 0.5);
        return tf.grad((x: Tensor) => weighted(tf.square(tf.conv2d(x as Tensor4D, w, c.s, c.pad)), 4))(
          t4(c.x, 5),
        );
      }, c.name);
    });

    it(`second order, d<d loss/d x, v>/d filter: ${c.name}`, async () => {
      await expectWasmMatchesCpu(() => {
        const x = t4(c.x, 6);
        const v = t4(c.x, 7);
        // The inner gradient runs Conv2DBackpropInput(dy(w), w); the outer one differentiates through both.
        const inner = (w: Tensor): Scalar => {
          const loss = (xx: Tensor): Scalar =>
            weighted(tf.square(tf.conv2d(xx as Tensor4D, w as Tensor4D, c.s, c.pad)), 8);
          return tf.sum(tf.mul(tf.grad(loss)(x), v)) as Scalar;
        };
        return tf.grad(inner)(t4(c.f, 9, 0.5));
      }, c.name);
    });
  }

  it('throws when dy does not have the forward output shape: dx=[2,5,5,3] dy=[2,4,4,4] f=3x3 pad=same', async () => {
    await tf.setBackend('wasm');
    const [dy, f] = [t4([2, 4, 4, 4], 1), t4([3, 3, 3, 4], 2)];
    expect(() => backpropInput(dy, f, [2, 5, 5, 3], 1, 'same')).toThrow(
      'Error in Conv2DBackpropInput (wasm): dy must have shape [2,5,5,4] for inputShape [2,5,5,3] and this filter/stride/pad, got [2,4,4,4]',
    );
    tf.dispose([dy, f]);
  });

  it('leaks nothing: kernel, first and second order, x=[2,5,5,3] f=3x3 s=1 and s=2', async () => {
    await tf.setBackend('wasm');
    const x = t4([2, 5, 5, 3], 1);
    const w = t4([3, 3, 3, 4], 2);
    const [tensors, dataIds] = [tf.memory().numTensors, wasmDataIds()];
    for (const s of [1, 2]) {
      tf.tidy(() => {
        const inner = (ww: Tensor): Scalar => {
          const loss = (xx: Tensor): Scalar =>
            weighted(tf.square(tf.conv2d(xx as Tensor4D, ww as Tensor4D, s, 'same')), 3);
          return tf.sum(tf.grad(loss)(x)) as Scalar;
        };
        tf.grad(inner)(w).dataSync();
      });
    }
    expect([tf.memory().numTensors, wasmDataIds()]).toEqual([tensors, dataIds]);
    tf.dispose([x, w]);
  });
});

// Bilinear sampling gathers 4 taps per output pixel from a flattened image; its gradient scatters them back.
const segmentCases: { name: string; x: number[]; ids: number[]; k: number }[] = [
  { name: 'x=[6] ids=[0,2,1,0,2,2] k=3', x: [6], ids: [0, 2, 1, 0, 2, 2], k: 3 },
  { name: 'x=[7,3] k=4, ids out of range (-1, 4) dropped', x: [7, 3], ids: [3, -1, 0, 4, 3, 1, 0], k: 4 },
  { name: 'x=[5,2,3] k=6, empty segments', x: [5, 2, 3], ids: [5, 0, 5, 2, 0], k: 6 },
  {
    name: 'x=[512,3] k=128 (bilinear scatter of 4 taps x 128 pixels)',
    x: [512, 3],
    ids: Array.from({ length: 512 }, (_, i) => (i * 37) % 128),
    k: 128,
  },
];

describe('UnsortedSegmentSum on wasm vs cpu', () => {
  for (const c of segmentCases) {
    it(`kernel: ${c.name}`, async () => {
      await expectWasmMatchesCpu(
        () =>
          tf.unsortedSegmentSum(
            tf.tensor(randomValues(size(c.x), 10), c.x),
            tf.tensor1d(c.ids, 'int32'),
            c.k,
          ),
        c.name,
      );
    });
  }

  it('kernel: int32 x=[4,2] k=3 (result int32, as on cpu)', async () => {
    await expectWasmMatchesCpu(
      () =>
        tf.unsortedSegmentSum(
          tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], 'int32'),
          tf.tensor1d([2, 0, 2, 1], 'int32'),
          3,
        ),
      'int32',
    );
  });

  const gatherCase = {
    params: [20, 3] as [number, number],
    indices: Array.from({ length: 60 }, (_, i) => (i * 7) % 20),
  };
  const params = (): Tensor2D => tf.tensor2d(randomValues(60, 11), gatherCase.params);
  const indices = (): Tensor1D => tf.tensor1d(gatherCase.indices, 'int32');

  it('first order, d loss/d params through gather: params=[20,3] indices=[60]', async () => {
    await expectWasmMatchesCpu(
      () => tf.grad((p: Tensor) => weighted(tf.square(tf.gather(p, indices())), 12))(params()),
      'gather grad',
    );
  });

  it('second order, d<d loss/d params, v>/d params through gather: params=[20,3] indices=[60]', async () => {
    await expectWasmMatchesCpu(() => {
      const v = tf.tensor2d(randomValues(60, 13), gatherCase.params);
      const inner = (p: Tensor): Scalar => {
        const dp = tf.grad((q: Tensor) => weighted(tf.square(tf.gather(q, indices())), 14))(p);
        return tf.sum(tf.mul(tf.square(dp), v)) as Scalar;
      };
      return tf.grad(inner)(params());
    }, 'gather hvp');
  });

  it('throws when segmentIds has not one id per row of x: x=[4,2] ids=[3]', async () => {
    await tf.setBackend('wasm');
    const [x, ids] = [tf.zeros([4, 2]), tf.tensor1d([0, 1, 2], 'int32')];
    expect(() => tf.unsortedSegmentSum(x, ids, 3)).toThrow(
      'Error in UnsortedSegmentSum (wasm): segmentIds must be a vector with one id per row of x, got segmentIds [3] for x [4,2]',
    );
    tf.dispose([x, ids]);
  });

  it('throws when numSegments is negative', async () => {
    await tf.setBackend('wasm');
    const [x, ids] = [tf.zeros([2]), tf.tensor1d([0, 1], 'int32')];
    expect(() =>
      tf.engine().runKernel(tf.UnsortedSegmentSum, { x, segmentIds: ids }, { numSegments: -1 }),
    ).toThrow('Error in UnsortedSegmentSum (wasm): numSegments must be a non-negative integer, got -1');
    tf.dispose([x, ids]);
  });

  it('leaks nothing: kernel, first and second order through gather', async () => {
    await tf.setBackend('wasm');
    const p = params();
    const [tensors, dataIds] = [tf.memory().numTensors, wasmDataIds()];
    tf.tidy(() => {
      const inner = (q: Tensor): Scalar =>
        tf.sum(
          tf.square(tf.grad((r: Tensor) => weighted(tf.square(tf.gather(r, indices())), 15))(q)),
        ) as Scalar;
      tf.grad(inner)(p).dataSync();
    });
    expect([tf.memory().numTensors, wasmDataIds()]).toEqual([tensors, dataIds]);
    p.dispose();
  });
});
