import { describe, expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import { ENGINE_GRADIENTS, registerEngineGradients } from '../../shared/engine/gradients/register.ts';
import { CPU_KERNELS } from '../../shared/engine/kernels/cpu/register.ts';
import { reluGradKernelConfigs } from '../../shared/engine/gradients/relu.ts';
import { broadcastTo, broadcastToKernelConfigs } from '../../shared/engine/ops/broadcast.ts';
import { INSTANCE_NORM_KERNELS } from '../../shared/engine/ops/instance-norm.ts';
import { loadOpLibrary, opLibraryPath } from '../../shared/engine/kernels/tensorflow/register.ts';
import { BACKEND_NAMES } from '../../shared/engine/backends/types.ts';
import { tensorflowThreadsFor } from '../../shared/engine/backends/index.ts';

// tfjs's registries replace entries silently; importing anything from @tensorflow/* after our registration
// could put the stock (second-order-wrong) gradients back. This pins that ours are the ones in force.
describe('engine registrations in force', () => {
  it.each(ENGINE_GRADIENTS.map((g) => [g.kernelName, g] as const))(
    'gradient of %s is ours',
    (name, config) => {
      expect(tf.getGradient(name)).toBe(config);
    },
  );

  it('covers the kernels platform.md section 1 names', () => {
    const names = ENGINE_GRADIENTS.map((g) => g.kernelName);
    for (const k of [tf.Conv2DBackpropFilter, tf.AvgPoolGrad, tf.Exp, tf.Equal, tf.Greater, tf.LogicalNot])
      expect(names).toContain(k);
  });

  it.each(CPU_KERNELS.map((k) => [k.kernelName, k] as const))('cpu kernel %s is ours', (name, config) => {
    expect(tf.getKernel(name, 'cpu')).toBe(config);
  });

  it('re-registering is idempotent', () => {
    registerEngineGradients();
    for (const g of ENGINE_GRADIENTS) expect(tf.getGradient(g.kernelName)).toBe(g);
  });
});

describe('kernels of our own ops', () => {
  it.each(
    [...reluGradKernelConfigs, ...broadcastToKernelConfigs].map(
      (k) => [k.kernelName, k.backendName, k] as const,
    ),
  )('%s is registered for %s', (name, backend, config) => {
    expect(tf.getKernel(name, backend)).toBe(config);
  });

  it('every backend has each', () => {
    for (const backend of BACKEND_NAMES)
      for (const name of ['HoptmReluGrad', 'HoptmBroadcastTo', ...INSTANCE_NORM_KERNELS])
        expect(tf.getKernel(name, backend), `${name} on ${backend}`).toBeDefined();
  });

  it('broadcastTo refuses shapes it cannot broadcast, naming both', () => {
    const x = tf.zeros([2, 1, 3]);
    expect(() => broadcastTo(x, [2, 4, 4])).toThrow('broadcastTo: cannot broadcast [2,1,3] to [2,4,4]');
    expect(() => broadcastTo(x, [2, 4])).toThrow('broadcastTo: cannot broadcast [2,1,3] to [2,4]');
    x.dispose();
  });

  it('broadcastTo repeats size-1 axes', async () => {
    const x = tf.tensor3d([1, 2, 3, 4], [2, 1, 2]);
    const y = broadcastTo(x, [2, 3, 2]);
    expect(y.shape).toEqual([2, 3, 2]);
    expect(Array.from(await y.data())).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
    tf.dispose([x, y]);
  });
});

describe('the tensorflow op library', () => {
  it('is looked for beside the node_modules tfjs-node was installed into', () => {
    expect(opLibraryPath('/x/.tools/tfjs-node')).toBe('/x/.tools/tfjs-node/hoptm-ops/hoptm_ops.node');
  });

  it('says why when it is not built (the kernels then stay composites)', () => {
    expect(loadOpLibrary('/nonexistent')).toEqual({
      loaded: false,
      why: '/nonexistent/hoptm-ops/hoptm_ops.node is not built',
    });
  });
});

describe('tensorflowThreadsFor', () => {
  it('gives small models one intra-op thread and larger ones a thread per core', () => {
    expect(tensorflowThreadsFor({ width: 16, imageSize: 32 }, 8)).toBe(1); // mnist-ipc1
    expect(tensorflowThreadsFor({ width: 128, imageSize: 32 }, 8)).toBe(8); // PathMNIST IPC10
    expect(tensorflowThreadsFor({ width: 64, imageSize: 32 }, 2)).toBe(2); // exactly the threshold
  });
});
