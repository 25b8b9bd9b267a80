import { describe, expect, it } from 'vitest';
import { makePreprocessor, preprocessImage, preprocessSpec } from '../../shared/data/preprocess.ts';
import { COVID_PRESET, MNIST_PRESET, PATHMNIST_PRESET, normalisationFor } from '../../shared/data/presets.ts';
import { loadResizeFixtures, maxAbsDiff } from './helpers/fixtures.ts';

const TOL = 1e-5;
const PRESETS = { pathmnist: PATHMNIST_PRESET, covid: COVID_PRESET, mnist: MNIST_PRESET };

describe('reference transform vs torchvision (ToTensor -> Normalize -> Resize BICUBIC -> CenterCrop)', () => {
  for (const c of loadResizeFixtures().transforms) {
    const size = c.outputSize ?? PRESETS[c.preset].outputSize;
    it(`${c.preset} ${c.input.shape.join('x')} -> ${size.join('x')} antialias=${c.antialias}`, () => {
      const spec = preprocessSpec(PRESETS[c.preset], c.input.shape[2], {
        antialias: c.antialias,
        ...(c.outputSize === undefined ? {} : { outputSize: c.outputSize }),
      });
      const y = preprocessImage(c.input.data, c.input.shape, c.encoding, spec);
      expect(maxAbsDiff(y, c.output.data)).toBeLessThan(TOL);
    });
  }
});

describe('preprocess spec', () => {
  it('uses the reference constants for PathMNIST and COVID (method.md E)', () => {
    expect(PATHMNIST_PRESET.normalisation).toEqual({
      mean: [0.741, 0.533, 0.706],
      std: [0.402, 0.821, 0.407],
    });
    expect(PATHMNIST_PRESET.outputSize).toEqual([32, 32]);
    expect(COVID_PRESET.normalisation).toEqual({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(COVID_PRESET.outputSize).toEqual([112, 112]);
  });

  it('antialiases only the downsampling preset (COVID) and records the kernel constant', () => {
    expect(preprocessSpec(PATHMNIST_PRESET, 3).resize.a).toBe(-0.75);
    expect(preprocessSpec(COVID_PRESET, 3).resize).toEqual({
      method: 'bicubic',
      height: 112,
      width: 112,
      antialias: true,
      a: -0.5,
    });
    expect(preprocessSpec(PATHMNIST_PRESET, 3, { antialias: true }).resize.a).toBe(-0.5);
  });

  it('normalises in float32 exactly like torch: ((x / 255) - mean) / std, each step rounded', () => {
    const spec = preprocessSpec(PATHMNIST_PRESET, 3, { outputSize: [1, 1] });
    const y = preprocessImage([200, 17, 255], [1, 1, 3], 'uint8', spec);
    const f = Math.fround;
    const expected = [200, 17, 255].map((v, c) =>
      f(
        f(f(v / 255) - f(PATHMNIST_PRESET.normalisation.mean[c]!)) /
          f(PATHMNIST_PRESET.normalisation.std[c]!),
      ),
    );
    expect(Array.from(y)).toEqual(expected);
  });

  it('repeats one-channel constants for three channels', () => {
    expect(normalisationFor(MNIST_PRESET.normalisation, 3)).toEqual({
      mean: [0.1307, 0.1307, 0.1307],
      std: [0.3081, 0.3081, 0.3081],
    });
  });

  it('throws when the constants do not fit the channels or a std is not positive', () => {
    expect(() => normalisationFor(PATHMNIST_PRESET.normalisation, 1)).toThrow(
      /3 channels, the images have 1/,
    );
    expect(() => normalisationFor({ mean: [0], std: [0] }, 1)).toThrow(/std must be > 0/);
    expect(() => preprocessSpec(PATHMNIST_PRESET, 3, { mean: [0.5, 0.5] })).toThrow(
      /mean has 2 values, std has 3/,
    );
  });

  it('throws when an image has the wrong number of values', () => {
    const p = makePreprocessor(
      [2, 2, 3],
      'uint8',
      preprocessSpec(PATHMNIST_PRESET, 3, { outputSize: [4, 4] }),
    );
    expect(() => p.apply(new Uint8Array(11), new Float32Array(48), 0)).toThrow(/11 values, expected 2x2x3/);
  });
});
