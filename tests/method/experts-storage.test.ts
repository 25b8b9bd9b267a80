import { describe, expect, it } from 'vitest';
import { tf } from '../../shared/engine/tf.ts';
import type { Tensor1D, Tensor4D } from '../../shared/engine/tf.ts';
import { createRng } from '../../shared/engine/random.ts';
import { expertsSchema, type ExpertsConfig } from '../../shared/config/experts.ts';
import { ArtifactFormatError, ArtifactNotFoundError } from '../../shared/storage/errors.ts';
import { createMemoryStore } from '../../shared/storage/memory.ts';
import { SafetensorsFormatError } from '../../shared/storage/safetensors.ts';
import type { ArtifactStore } from '../../shared/storage/store.ts';
import { encodeSnapshot } from '../../shared/method/experts/format.ts';
import { snapshotKey } from '../../shared/method/experts/keys.ts';
import { trainExpert } from '../../shared/method/experts/train-expert.ts';
import { loadExpertPoints } from '../../shared/method/experts/trajectory.ts';

const CFG = { channels: 1, width: 4, depth: 2, imageSize: 8, numClasses: 3 };
const P = 255;
const DIGEST = 'd'.repeat(64);

function data(n = 24): { images: Tensor4D; labels: Tensor1D } {
  const rng = createRng(3);
  return {
    images: tf.tensor4d(
      Float32Array.from({ length: n * 64 }, () => 2 * rng.next() - 1),
      [n, 8, 8, 1],
    ),
    labels: tf.tensor1d(
      Array.from({ length: n }, (_, i) => i % 3),
      'int32',
    ),
  };
}

const experts = (over: Partial<ExpertsConfig>): ExpertsConfig => ({
  ...expertsSchema.parse({ epochs: 3, batchSize: 8, seed: 1 }),
  ...over,
});

/** Bytes of every object under an expert's prefix, by kind. */
async function expertBytes(
  store: ArtifactStore,
  prefix: string,
): Promise<{ snapshots: number[]; state: number; complete: number }> {
  const keys = await store.list(prefix);
  const size = async (k: string): Promise<number> => (await store.get(k)).length;
  return {
    snapshots: await Promise.all(keys.filter((k) => k.includes('/epoch/')).map(size)),
    state: await size(keys.find((k) => k.endsWith('state.safetensors'))!),
    complete: await size(keys.find((k) => k.endsWith('complete.json'))!),
  };
}

const headerBytes = (bytes: Uint8Array): number =>
  8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));

describe('storage per expert: snapshot bytes = 8 + header + (4 | 2) P', () => {
  for (const dtype of ['float32', 'float16'] as const) {
    it(`${dtype}: every epoch snapshot is one header (<= 512 B) plus ${dtype === 'float32' ? 4 : 2} bytes per parameter`, async () => {
      const store = createMemoryStore();
      await trainExpert(
        {
          runId: 'sizes',
          expert: 0,
          cfg: CFG,
          experts: experts({ snapshotDtype: dtype }),
          lastEpoch: 3,
          train: data(),
        },
        { store },
      );
      const bytes = await expertBytes(store, 'sizes/expert/0');
      expect(bytes.snapshots).toHaveLength(4);
      for (let e = 0; e < 4; e++) {
        const snap = await store.get(snapshotKey('sizes', 0, e));
        const header = headerBytes(snap);
        expect(header).toBeLessThanOrEqual(512);
        expect(snap.length).toBe(header + (dtype === 'float32' ? 4 : 2) * P);
      }
      // The state is float32 whatever the snapshot dtype; its header grows with the per-epoch history.
      const state = await store.get('sizes/expert/0/state.safetensors');
      expect(state.length).toBe(headerBytes(state) + 4 * P);
      expect(bytes.complete).toBeLessThan(4096);
    });
  }

  it('a PathMNIST-sized snapshot (P = 317961) has the same header overhead', () => {
    const meta = {
      runId: 'pathmnist-ipc10',
      expert: 99,
      epoch: 100,
      parameters: 317961,
      configDigest: DIGEST,
    };
    const f32 = encodeSnapshot(new Float32Array(317961), { ...meta, dtype: 'float32' });
    const f16 = encodeSnapshot(new Float32Array(317961), { ...meta, dtype: 'float16' });
    expect(f32.length - headerBytes(f32)).toBe(4 * 317961);
    expect(f16.length - headerBytes(f16)).toBe(2 * 317961);
    expect(headerBytes(f32)).toBeLessThanOrEqual(512);
  });
});

describe('loadExpertPoints: clear errors naming the key', () => {
  const setup = async (): Promise<ArtifactStore> => {
    const store = createMemoryStore();
    await trainExpert(
      { runId: 'r', expert: 3, cfg: CFG, experts: experts({}), lastEpoch: 1, train: data() },
      { store },
    );
    return store;
  };
  const meta = {
    runId: 'r',
    expert: 3,
    epoch: 2,
    parameters: P,
    dtype: 'float32' as const,
    configDigest: DIGEST,
  };

  it('reads points in the order asked', async () => {
    const store = await setup();
    const [a, b, c] = await loadExpertPoints(store, 'r', 3, [1, 0, 1], { parameters: P });
    expect(a).toEqual(c);
    expect(a).not.toEqual(b);
    expect(a).toHaveLength(P);
  });

  it('throws ArtifactNotFoundError for a missing snapshot', async () => {
    const store = await setup();
    const err = await loadExpertPoints(store, 'r', 3, [0, 2]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactNotFoundError);
    expect((err as Error).message).toBe(
      'Artifact "r/expert/3/epoch/0002.safetensors" not found in memory://',
    );
  });

  it('throws SafetensorsFormatError for a truncated snapshot', async () => {
    const store = await setup();
    const full = encodeSnapshot(new Float32Array(P), meta);
    await store.create(snapshotKey('r', 3, 2), full.subarray(0, full.length - 10));
    const err = await loadExpertPoints(store, 'r', 3, [2]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsFormatError);
    expect((err as Error).message).toMatch(
      /^expert snapshot "r\/expert\/3\/epoch\/0002.safetensors" in memory:\/\/: expected 'the tensors|^expert snapshot "r\/expert\/3\/epoch\/0002.safetensors" in memory:\/\/: expected tensor "params" within/,
    );
  });

  it('throws SafetensorsFormatError for bytes that are not safetensors at all', async () => {
    const store = await setup();
    await store.create(snapshotKey('r', 3, 2), new TextEncoder().encode('not a snapshot'));
    await expect(loadExpertPoints(store, 'r', 3, [2])).rejects.toThrow(
      /^expert snapshot "r\/expert\/3\/epoch\/0002.safetensors" in memory:\/\/: expected a header of/,
    );
  });

  it('throws ArtifactFormatError for the wrong parameter count', async () => {
    const store = await setup();
    await expect(loadExpertPoints(store, 'r', 3, [0], { parameters: 1000 })).rejects.toThrow(
      'Artifact "r/expert/3/epoch/0000.safetensors" in memory://: expected 1000 parameters (as the model has), found 255 parameters',
    );
    await store.create(
      snapshotKey('r', 3, 2),
      encodeSnapshot(new Float32Array(7), { ...meta, parameters: 7 }),
    );
    await expect(loadExpertPoints(store, 'r', 3, [0, 2])).rejects.toThrow(
      'Artifact "r/expert/3/epoch/0002.safetensors" in memory://: expected 255 parameters (as epoch 0 of this expert has), found 7 parameters',
    );
  });

  it('throws ArtifactFormatError for NaN or Inf parameters', async () => {
    const store = await setup();
    const bad = new Float32Array(P);
    bad[17] = Number.NaN;
    await store.create(snapshotKey('r', 3, 2), encodeSnapshot(bad, meta));
    const err = await loadExpertPoints(store, 'r', 3, [2]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArtifactFormatError);
    expect((err as Error).message).toBe(
      'Artifact "r/expert/3/epoch/0002.safetensors" in memory://: expected finite parameters, found NaN at parameter 17',
    );
  });

  it('throws ArtifactFormatError for a snapshot of another epoch or expert at the key', async () => {
    const store = await setup();
    await store.create(snapshotKey('r', 3, 2), encodeSnapshot(new Float32Array(P), { ...meta, epoch: 5 }));
    await expect(loadExpertPoints(store, 'r', 3, [2])).rejects.toThrow(
      'Artifact "r/expert/3/epoch/0002.safetensors" in memory://: expected the snapshot of run "r" expert 3 epoch 2, found run "r" expert 3 epoch 5',
    );
  });

  it('throws ArtifactFormatError for a safetensors file without snapshot metadata', async () => {
    const store = await setup();
    const { encodeSafetensors } = await import('../../shared/storage/safetensors.ts');
    await store.create(
      snapshotKey('r', 3, 2),
      encodeSafetensors({ params: { dtype: 'F32', shape: [P], data: new Float32Array(P) } }),
    );
    await expect(loadExpertPoints(store, 'r', 3, [2])).rejects.toThrow(
      /^Artifact "r\/expert\/3\/epoch\/0002.safetensors" in memory:\/\/: expected expert snapshot metadata \(hoptm.expert-snapshot v1\), found /,
    );
  });
});
