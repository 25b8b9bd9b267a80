import { describe, expect, it } from 'vitest';
import { PRESET_NAMES, resolveConfig } from '../../shared/config/index.ts';

describe('run configuration', () => {
  it.each(PRESET_NAMES)('preset %s parses', (name) => {
    const cfg = resolveConfig(name);
    expect(cfg.name).toBe(name);
  });

  it('PathMNIST IPC1000 matches the reference yaml (method.md G.1)', () => {
    const { distill } = resolveConfig('pathmnist-ipc1000');
    expect(distill).toMatchObject({
      ipc: 1000,
      synSteps: 100,
      minStartEpoch: 40,
      maxStartEpoch: 60,
      lrLr: 1e-5,
      batchSyn: 100,
    });
    expect(distill.mask).toMatchObject({
      baseThreshold: 5e-8,
      growingFactor: 1.5,
      growEvery: 500,
      enabled: true,
    });
  });

  it('COVID IPC50 matches the reference yaml', () => {
    const cfg = resolveConfig('covid-ipc50');
    expect(cfg.model).toEqual({ width: 128, depth: 5 });
    expect(cfg.distill).toMatchObject({
      expertEpochs: 3,
      maxStartEpoch: 20,
      lrImg: 100,
      lrTeacher: 0.001,
      batchSyn: 20,
      mask: { growingFactor: 1.6, baseThreshold: 1e-10 },
      shape: { lambda: 1 },
    });
  });

  it('applies key.path=value overrides with JSON values', () => {
    const cfg = resolveConfig('mnist-ci', [
      'distill.iterations=7',
      'distill.shape.enabled=false',
      'model.width=8',
    ]);
    expect(cfg.distill.iterations).toBe(7);
    expect(cfg.distill.shape.enabled).toBe(false);
    expect(cfg.model.width).toBe(8);
  });

  it('throws naming the schema, the source and every offending field', () => {
    expect(() => resolveConfig('mnist-ci', ['distill.ipcc=3', 'distill.lrImg=-1'])).toThrow(
      /Invalid HoP-TM run configuration in preset 'mnist-ci' with overrides[\s\S]*ipcc[\s\S]*lrImg/,
    );
  });

  it('throws when distillation would sample epochs the experts never trained', () => {
    expect(() => resolveConfig('pathmnist-ipc10', ['experts.epochs=3'])).toThrow(
      /can sample expert epoch 5 .* but experts train only 3 epochs/,
    );
  });

  it('throws when the start-epoch window is empty', () => {
    expect(() => resolveConfig('pathmnist-ipc10', ['distill.minStartEpoch=4'])).toThrow(
      /minStartEpoch \(4\) must be below the exclusive maxStartEpoch \(4\)/,
    );
  });

  it('throws naming the available presets for an unknown one', () => {
    expect(() => resolveConfig('cifar')).toThrow(/Unknown preset 'cifar'. Available: pathmnist-ipc1, /);
  });

  it('selects on val in every preset, each of which loads a val split', () => {
    for (const name of PRESET_NAMES) expect(resolveConfig(name).evaluate.selection, name).toBe('val');
    expect(resolveConfig('pathmnist-ipc10').dataset).toMatchObject({ includeVal: true });
    expect(resolveConfig('covid-ipc1').dataset).toMatchObject({ valFraction: 0.1 });
    expect(resolveConfig('mnist-ipc1').dataset).toMatchObject({ valPerClass: 100 });
  });

  it("throws when selection is 'val' but the dataset spec loads no val split (no fallback to test)", () => {
    expect(() => resolveConfig('pathmnist-ipc10', ['dataset.includeVal=false'])).toThrow(
      /selection is 'val' but the dataset loads no validation split \(dataset.includeVal is not true\)/,
    );
    expect(() => resolveConfig('mnist-ci', ['dataset.valPerClass=0'])).toThrow(/dataset.valPerClass is 0/);
    expect(() => resolveConfig('covid-ipc1', ['dataset.valFraction=0'])).toThrow(/dataset.valFraction is 0/);
    expect(
      resolveConfig('pathmnist-ipc10', ['dataset.includeVal=false', 'evaluate.selection=test']).evaluate
        .selection,
    ).toBe('test');
  });

  it('has an audit section with defaults: audit on, gate off, SSIM 0.9 near-copy threshold', () => {
    const { audit } = resolveConfig('mnist-ci');
    expect(audit).toMatchObject({
      enabled: true,
      nearCopySsim: 0.9,
      membership: { enabled: true, members: 500, nonMembers: 500, referenceNetworks: 2 },
      gate: { enabled: false, refuseNearCopies: true, maxAuc: 0.6 },
    });
    expect(() => resolveConfig('mnist-ci', ['audit.gate.maxAUC=0.7'])).toThrow(/maxAUC/);
  });
});
