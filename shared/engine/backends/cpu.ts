import { activate } from './activate.ts';
import type { StartedBackend } from './types.ts';

/** The pure-JS reference backend (registered by `shared/engine/tf.ts`); always available, slowest. */
export async function start(): Promise<StartedBackend> {
  await activate('cpu');
  return { name: 'cpu', threads: 1 };
}
