import type { ArgsDef } from 'citty';

/** Flags every pipeline command shares (declared once). Config values themselves go through --set. */
export const runArgs = {
  preset: {
    type: 'string',
    description: 'Named configuration (hoptm presets lists them)',
    default: 'mnist-ipc1',
    valueHint: 'name',
  },
  set: {
    type: 'string',
    description: 'Override one config value, repeatable: --set distill.iterations=100 --set model.width=64',
    valueHint: 'key.path=value',
  },
  out: {
    type: 'string',
    description: 'Artifact store: a local folder (default runs/) or memory://',
    default: 'runs',
    valueHint: 'dir',
  },
  run: {
    type: 'string',
    description: 'Run id: the key prefix of all artifacts (default: the config name)',
    valueHint: 'id',
  },
  backend: {
    type: 'string',
    description: 'Maths backend: auto | cpu | wasm | webgpu | tensorflow',
    default: 'auto',
  },
} as const satisfies ArgsDef;

/** Every `--set` value in order (the argument parser keeps only the last of a repeated string flag). */
export function overridesOf(rawArgs: readonly string[]): string[] {
  const out: string[] = [];
  rawArgs.forEach((arg, i) => {
    if (arg === '--set') {
      const value = rawArgs[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw new Error('--set needs a value: --set key.path=value');
      out.push(value);
    } else if (arg.startsWith('--set=')) out.push(arg.slice('--set='.length));
  });
  return out;
}
