/** What a trigger asks for, from the shared run flags: preset, overrides and the artifact store. */
import { resolve } from 'node:path';
import { resolveConfig } from '../shared/config/index.ts';
import type { RunIntent } from '../shared/temporal/run-request.ts';
import { overridesOf } from './args.ts';

export function intentFromArgs(args: { preset: string; out: string }, rawArgs: readonly string[]): RunIntent {
  const config = resolveConfig(args.preset, overridesOf(rawArgs));
  if (args.out.startsWith('memory:'))
    throw new Error('--out memory:// cannot be shared with workers: use a folder or gs://bucket/prefix');
  return { preset: args.preset, config, store: args.out.includes('://') ? args.out : resolve(args.out) };
}
