import { tf } from '../../shared/engine/tf.ts';

interface EngineInternals {
  trackTensor: (...args: unknown[]) => unknown;
  state: { numBytes: number };
}

/**
 * Peak tensor bytes while `fn` runs. tf.profile cannot be used for long runs: it computes its peak with
 * Math.max(...kernels), which overflows the call stack beyond ~100k kernels (an 80-step meta-gradient
 * launches far more). This wraps the engine's tensor tracking instead; benchmark use only.
 */
export async function peakTensorBytes(
  fn: () => Promise<void>,
): Promise<{ peakBytes: number; startBytes: number }> {
  const engine = tf.engine() as unknown as EngineInternals;
  const original = engine.trackTensor;
  const startBytes = engine.state.numBytes;
  let peakBytes = startBytes;
  engine.trackTensor = function (this: unknown, ...args: unknown[]) {
    const result = original.apply(this, args);
    if (engine.state.numBytes > peakBytes) peakBytes = engine.state.numBytes;
    return result;
  };
  try {
    await fn();
  } finally {
    engine.trackTensor = original;
  }
  return { peakBytes, startBytes };
}
