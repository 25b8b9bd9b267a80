import { tf } from '../tf.ts';
import { BackendStartError } from './errors.ts';
import type { BackendName } from './types.ts';

/**
 * `tf.setBackend(name)`, but a failure throws instead of returning false. tfjs reports why a backend's
 * initialisation failed only through `console.warn`; those lines are caught here and put in the error (and
 * passed on unchanged when the backend does start).
 */
export async function activate(name: BackendName): Promise<void> {
  if (tf.findBackendFactory(name) === null) {
    throw new BackendStartError(name, `no tfjs backend named '${name}' is registered`);
  }
  const warnings: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args);
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (error) {
    throw new BackendStartError(name, `tf.setBackend('${name}') threw: ${String(error)}`, { cause: error });
  } finally {
    console.warn = warn;
  }
  if (!ok) {
    const said = warnings.map((args) => args.map(String).join(' ')).join(' | ');
    throw new BackendStartError(name, `tfjs could not initialise it: ${said || 'no reason given'}`);
  }
  for (const args of warnings) console.warn(...args);
}
