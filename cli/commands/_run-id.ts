/** Arguments shared by the commands that act on one run. */
import type { ArgsDef } from 'citty';

export const runIdArgs = {
  id: { type: 'positional', description: 'Run id (hoptm list shows them)', required: true },
  out: {
    type: 'string',
    description: 'The runs folder whose local dev server to use when TEMPORAL_ADDRESS is unset',
    default: 'runs',
    valueHint: 'dir',
  },
} as const satisfies ArgsDef;
