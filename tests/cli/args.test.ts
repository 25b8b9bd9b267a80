import { describe, expect, it } from 'vitest';
import { overridesOf } from '../../cli/args.ts';

describe('hoptm --set', () => {
  it('collects every repeated --set in order, in both spellings', () => {
    expect(
      overridesOf(['run', '--set', 'a.b=1', '--preset', 'x', '--set=c=2', '--set', 'd.e=[1,2]']),
    ).toEqual(['a.b=1', 'c=2', 'd.e=[1,2]']);
  });

  it('throws when --set has no value', () => {
    expect(() => overridesOf(['run', '--set'])).toThrow('--set needs a value: --set key.path=value');
    expect(() => overridesOf(['run', '--set', '--preset', 'x'])).toThrow('--set needs a value');
  });
});
