import { runConfigSchema, type RunConfig, type RunConfigInput } from './schema.ts';
import { presetInput } from './presets/index.ts';
import { validate } from './validate.ts';

export { runConfigSchema, sampledExpertEpochs, type RunConfig, type RunConfigInput } from './schema.ts';
export { PRESETS, PRESET_NAMES, type PresetName } from './presets/index.ts';
export { ConfigError, validate } from './validate.ts';

/** Sets `a.b.c` in a plain object from a `a.b.c=value` override; the value is parsed as JSON when it can be. */
export function applyOverride(input: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0)
    throw new Error(`Override '${assignment}': expected key.path=value, e.g. distill.iterations=100`);
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // Not JSON: keep the string (e.g. dataset.path=data/x.npz).
  }
  let node = input;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null)
      throw new Error(`Override '${assignment}': '${key}' is not a section`);
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** A preset by name with `key.path=value` overrides, validated as one configuration. */
export function resolveConfig(preset: string, overrides: string[] = [], base?: RunConfigInput): RunConfig {
  const input = (base ?? presetInput(preset)) as Record<string, unknown>;
  overrides.forEach((o) => applyOverride(input, o));
  return validate(
    runConfigSchema,
    input,
    overrides.length ? `preset '${preset}' with overrides ${overrides.join(' ')}` : `preset '${preset}'`,
  );
}
