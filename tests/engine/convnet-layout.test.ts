import { describe, expect, it } from 'vitest';
import { convNetLayout, joinFlat, splitFlat } from '../../shared/engine/convnet/layout.ts';
import { initConvNetParams } from '../../shared/engine/convnet/init.ts';
import { createRng } from '../../shared/engine/random.ts';

describe('ConvNet flat layout (method.md section C)', () => {
  it('PathMNIST ConvNet w=128 d=3 32px 9 classes has P=317,961 with the reference offsets', () => {
    const layout = convNetLayout({ channels: 3, width: 128, depth: 3, imageSize: 32, numClasses: 9 });
    expect(layout.size).toBe(317_961);
    const offsets = Object.fromEntries(layout.specs.map((s) => [s.name, s.offset]));
    expect(offsets).toMatchObject({
      'conv0.weight': 0,
      'conv0.bias': 3456,
      'norm0.weight': 3584,
      'norm0.bias': 3712,
      'conv1.weight': 3840,
      'conv2.weight': 151680,
      'fc.weight': 299520,
      'fc.bias': 317952,
    });
    expect(layout.specs.find((s) => s.name === 'fc.weight')!.shape).toEqual([9, 2048]);
  });

  it('COVID ConvNetD5 w=128 d=5 112px 4 classes has P=599,812 (7 -> 3 floor)', () => {
    const layout = convNetLayout({ channels: 3, width: 128, depth: 5, imageSize: 112, numClasses: 4 });
    expect(layout.size).toBe(599_812);
    expect(layout.featureSize).toBe(3);
    const offsets = Object.fromEntries(layout.specs.map((s) => [s.name, s.offset]));
    expect(offsets).toMatchObject({
      'conv3.weight': 299520,
      'conv4.weight': 447360,
      'norm4.bias': 595072,
      'fc.weight': 595200,
      'fc.bias': 599808,
    });
  });

  it('split and join are inverse', () => {
    const cfg = { channels: 1, width: 4, depth: 2, imageSize: 8, numClasses: 3 };
    const flat = initConvNetParams(cfg, createRng(1));
    expect(joinFlat(splitFlat(flat, convNetLayout(cfg)), convNetLayout(cfg))).toEqual(flat);
  });

  it('initialises like PyTorch: weights within 1/sqrt(fan_in), GroupNorm gamma 1 beta 0', () => {
    const cfg = { channels: 3, width: 8, depth: 2, imageSize: 8, numClasses: 3 };
    const pieces = splitFlat(initConvNetParams(cfg, createRng(2)), convNetLayout(cfg));
    const maxAbs = (a: Float32Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(maxAbs(pieces.get('conv0.weight')!)).toBeLessThanOrEqual(1 / Math.sqrt(27));
    expect(maxAbs(pieces.get('conv0.weight')!)).toBeGreaterThan(0.8 / Math.sqrt(27));
    expect(maxAbs(pieces.get('conv1.bias')!)).toBeLessThanOrEqual(1 / Math.sqrt(72));
    expect(maxAbs(pieces.get('fc.weight')!)).toBeLessThanOrEqual(1 / Math.sqrt(8 * 2 * 2));
    expect([...pieces.get('norm1.weight')!].every((v) => v === 1)).toBe(true);
    expect([...pieces.get('norm1.bias')!].every((v) => v === 0)).toBe(true);
  });

  it('throws when the config is not positive integers or the image is too small for the depth', () => {
    expect(() => convNetLayout({ channels: 3, width: 0, depth: 3, imageSize: 32, numClasses: 9 })).toThrow(
      /width=0/,
    );
    expect(() => convNetLayout({ channels: 3, width: 8, depth: 6, imageSize: 32, numClasses: 9 })).toThrow(
      /too small for depth 6/,
    );
  });

  it('throws when a flat vector has the wrong length, naming both sizes', () => {
    const layout = convNetLayout({ channels: 1, width: 2, depth: 1, imageSize: 4, numClasses: 2 });
    expect(() => splitFlat(new Float32Array(3), layout)).toThrow(
      `expected a flat vector of ${layout.size} parameters, got 3`,
    );
  });
});
