import { z } from 'zod';
import type { ArtifactStore } from '../../storage/store.ts';
import { decodeSafetensors, encodeSafetensors } from '../../storage/safetensors.ts';
import type { DistillState } from './state.ts';

/** Scalars and small structures of the state, stored as JSON in the safetensors metadata. */
const metaSchema = z.strictObject({
  iteration: z.number().int().nonnegative(),
  imageShape: z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()]),
  lr: z.number(),
  lrMomentum: z.number().nullable(),
  expertCursor: z.strictObject({
    order: z.array(z.number().int()),
    position: z.number().int().nonnegative(),
  }),
  rng: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  best: z.strictObject({ iteration: z.number().int(), accuracy: z.number(), lr: z.number() }).nullable(),
});

const latestSchema = z.strictObject({ iteration: z.number().int().nonnegative(), key: z.string() });

/**
 * Checkpoints end in `.ckpt` (safetensors content): the cloud bucket's lifecycle rule expires objects by that
 * suffix (GCS rules can only match a name's start or end), never published results (docs/deploy.md).
 */
export const checkpointKey = (prefix: string, iteration: number): string =>
  `${prefix}/checkpoint/${String(iteration).padStart(6, '0')}.ckpt`;
const latestKey = (prefix: string): string => `${prefix}/checkpoint/latest.json`;

export function encodeDistillState(s: DistillState): Uint8Array {
  const { iteration, imageShape, lr, lrMomentum, expertCursor, rng, best } = s;
  const tensors: Parameters<typeof encodeSafetensors>[0] = {
    images: { dtype: 'F32', shape: imageShape, data: s.images },
    labels: { dtype: 'I32', shape: [s.labels.length], data: s.labels },
    mask: { dtype: 'U8', shape: [s.mask.length], data: s.mask },
  };
  if (s.imagesMomentum !== null)
    tensors.imagesMomentum = { dtype: 'F32', shape: imageShape, data: s.imagesMomentum };
  if (best !== null) tensors.bestImages = { dtype: 'F32', shape: imageShape, data: best.images };
  const bestMeta = best === null ? null : { iteration: best.iteration, accuracy: best.accuracy, lr: best.lr };
  return encodeSafetensors(tensors, {
    state: JSON.stringify({ iteration, imageShape, lr, lrMomentum, expertCursor, rng, best: bestMeta }),
  });
}

export function decodeDistillState(bytes: Uint8Array, source: string): DistillState {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const parsed = metaSchema.safeParse(JSON.parse(metadata?.state ?? 'null'));
  if (!parsed.success)
    throw new Error(`distill checkpoint ${source}: invalid state metadata: ${z.prettifyError(parsed.error)}`);
  const tensor = (name: string): ArrayLike<number> => {
    const t = tensors[name];
    if (t === undefined) throw new Error(`distill checkpoint ${source}: missing tensor '${name}'`);
    return t.data as ArrayLike<number>;
  };
  const m = parsed.data;
  return {
    ...m,
    rng: m.rng,
    images: Float32Array.from(tensor('images')),
    labels: Int32Array.from(tensor('labels')),
    mask: Uint8Array.from(tensor('mask')),
    imagesMomentum: tensors.imagesMomentum === undefined ? null : Float32Array.from(tensor('imagesMomentum')),
    best: m.best === null ? null : { ...m.best, images: Float32Array.from(tensor('bestImages')) },
  };
}

/**
 * Writes a step-named, create-only checkpoint, then advances the small `latest.json` pointer, then prunes
 * all but the newest `keep`: a crash at any point leaves the previous checkpoint intact and pointed to.
 */
export async function saveCheckpoint(
  store: ArtifactStore,
  prefix: string,
  state: DistillState,
  keep = 3,
): Promise<string> {
  const key = checkpointKey(prefix, state.iteration);
  if (!(await store.exists(key))) await store.create(key, encodeDistillState(state));
  await store.put(
    latestKey(prefix),
    new TextEncoder().encode(JSON.stringify({ iteration: state.iteration, key })),
  );
  const all = (await store.list(`${prefix}/checkpoint`)).filter((k) => k.endsWith('.ckpt')).sort();
  await Promise.all(all.slice(0, Math.max(0, all.length - keep)).map((k) => store.delete(k)));
  return key;
}

/** The newest checkpoint's iteration and key (the `latest.json` pointer), or null when there is none yet. */
export async function latestCheckpoint(
  store: ArtifactStore,
  prefix: string,
): Promise<{ iteration: number; key: string } | null> {
  if (!(await store.exists(latestKey(prefix)))) return null;
  return latestSchema.parse(JSON.parse(new TextDecoder().decode(await store.get(latestKey(prefix)))));
}

/** The newest complete checkpoint, or null when the run has none yet. */
export async function restoreCheckpoint(store: ArtifactStore, prefix: string): Promise<DistillState | null> {
  const latest = await latestCheckpoint(store, prefix);
  return latest === null ? null : decodeDistillState(await store.get(latest.key), latest.key);
}
