import type { Rng } from '../random.ts';
import { convNetLayout, type ConvNetConfig } from './layout.ts';

/**
 * PyTorch's default initialisation (method.md section C): conv and linear weights and biases
 * ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with a = sqrt(5)); GroupNorm gamma 1, beta 0.
 */
export function initConvNetParams(cfg: ConvNetConfig, rng: Rng): Float32Array {
  const layout = convNetLayout(cfg);
  const flat = new Float32Array(layout.size);
  let fanIn = 0;
  for (const spec of layout.specs) {
    const view = flat.subarray(spec.offset, spec.offset + spec.size);
    if (spec.name.startsWith('norm')) {
      view.fill(spec.name.endsWith('.weight') ? 1 : 0);
      continue;
    }
    // Weights come before their bias, so the bias reuses the weight's fan-in.
    if (spec.name.endsWith('.weight')) fanIn = spec.shape.slice(1).reduce((a, b) => a * b, 1);
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < view.length; i++) view[i] = (2 * rng.next() - 1) * bound;
  }
  return flat;
}
