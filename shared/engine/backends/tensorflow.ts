import { tf } from '../tf.ts';
import { activate } from './activate.ts';
import { BackendStartError, messageOf } from './errors.ts';
import type { StartedBackend } from './types.ts';

/**
 * The packages that provide tfjs's `tensorflow` backend (libtensorflow through N-API), GPU build first. They
 * cannot be installed on the air-gapped machines (their install script downloads libtensorflow; platform.md
 * section 2), so they are optional: used when present, never faked.
 */
export const TFJS_NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

export async function start(): Promise<StartedBackend> {
  const failures: string[] = [];
  for (const name of TFJS_NODE_PACKAGES) {
    const specifier: string = name; // a plain string: neither package is a dependency, so no types either
    try {
      await import(specifier);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      failures.push(
        code === 'ERR_MODULE_NOT_FOUND'
          ? `${name} is not installed`
          : `${name} failed to load: ${messageOf(error)}`,
      );
      continue;
    }
    if (tf.findBackendFactory('tensorflow') === null) {
      throw new BackendStartError(
        'tensorflow',
        `${name} loaded but registered no 'tensorflow' backend in this tfjs-core (a second @tensorflow/tfjs-core copy? versions must match 4.22.0)`,
      );
    }
    await activate('tensorflow');
    return { name: 'tensorflow', adapter: name };
  }
  throw new BackendStartError('tensorflow', failures.join('; '));
}
