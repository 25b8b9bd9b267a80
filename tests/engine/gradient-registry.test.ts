import { describe, expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import { ENGINE_GRADIENTS, registerEngineGradients } from '../../shared/engine/gradients/register.ts';
import { CPU_KERNELS } from '../../shared/engine/kernels/cpu/register.ts';

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
