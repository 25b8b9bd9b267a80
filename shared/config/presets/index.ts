import type { RunConfigInput } from '../schema.ts';
import { covidIpc1, covidIpc10, covidIpc5, covidIpc50 } from './covid.ts';
import { mnistCi, mnistIpc1 } from './mnist.ts';
import {
  pathmnistIpc1,
  pathmnistIpc10,
  pathmnistIpc100,
  pathmnistIpc1000,
  pathmnistIpc5,
} from './pathmnist.ts';

/** Every named preset: each reference config (method.md G.1) and the MNIST demo. */
export const PRESETS = {
  'pathmnist-ipc1': pathmnistIpc1,
  'pathmnist-ipc5': pathmnistIpc5,
  'pathmnist-ipc10': pathmnistIpc10,
  'pathmnist-ipc100': pathmnistIpc100,
  'pathmnist-ipc1000': pathmnistIpc1000,
  'covid-ipc1': covidIpc1,
  'covid-ipc5': covidIpc5,
  'covid-ipc10': covidIpc10,
  'covid-ipc50': covidIpc50,
  'mnist-ipc1': mnistIpc1,
  'mnist-ci': mnistCi,
} as const satisfies Record<string, RunConfigInput>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function presetInput(name: string): RunConfigInput {
  if (!(name in PRESETS)) throw new Error(`Unknown preset '${name}'. Available: ${PRESET_NAMES.join(', ')}`);
  return structuredClone(PRESETS[name as PresetName]) as RunConfigInput;
}
