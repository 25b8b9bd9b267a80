/**
 * The objects of an expert trajectory (docs/experts.md): epoch snapshots and the resume state are safetensors
 * files (readable by PyTorch's `safetensors.torch.load_file`), the done marker is JSON. Every reader validates
 * what it gets and throws an error naming the key: `SafetensorsFormatError` for a truncated or corrupt file,
 * `ArtifactFormatError` for a well-formed file that does not hold what an expert snapshot must.
 */
import { digestOf } from '../../config/digest.ts';
import { z } from 'zod';
import type { ConvNetConfig } from '../../engine/convnet/layout.ts';
import type { RngState } from '../../engine/random.ts';
import type { ExpertsConfig } from '../../config/experts.ts';
import { ArtifactFormatError } from '../../storage/errors.ts';
import { decodeSafetensors, encodeSafetensors } from '../../storage/safetensors.ts';

export const SNAPSHOT_FORMAT = 'hoptm.expert-snapshot';
export const STATE_FORMAT = 'hoptm.expert-state';
export const COMPLETE_FORMAT = 'hoptm.expert-complete';
export const FORMAT_VERSION = '1';
/** The one tensor of a snapshot and of the state. */
export const PARAMS_TENSOR = 'params';

export type SnapshotDtype = ExpertsConfig['snapshotDtype'];
const SAFETENSORS_DTYPE = { float32: 'F32', float16: 'F16' } as const satisfies Record<
  SnapshotDtype,
  'F32' | 'F16'
>;
export const BYTES_PER_PARAM: Record<SnapshotDtype, number> = { float32: 4, float16: 2 };

/** Everything that decides an expert's trajectory, except how many epochs it runs (docs/experts.md). */
export interface ExpertRecipe {
  model: ConvNetConfig;
  batchSize: number;
  lr: number;
  gsam: ExpertsConfig['gsam'];
  dsa: boolean;
  seed: number;
  snapshotDtype: SnapshotDtype;
  trainImages: number;
  /** The training data's content hash when the caller has one (a dataset manifest's `contentHash`). */
  dataDigest: string | null;
}

export function expertRecipe(
  model: ConvNetConfig,
  experts: ExpertsConfig,
  trainImages: number,
  dataDigest: string | null,
): ExpertRecipe {
  const { batchSize, lr, gsam, dsa, seed, snapshotDtype } = experts;
  return {
    model: { ...model },
    batchSize,
    lr,
    gsam: gsam === null ? null : { ...gsam },
    dsa,
    seed,
    snapshotDtype,
    trainImages,
    dataDigest,
  };
}

/** sha256 of the recipe's canonical JSON (keys sorted), so equal recipes have equal digests. */
export function recipeDigest(recipe: ExpertRecipe): string {
  return digestOf(recipe);
}

// ---------------------------------------------------------------------------------------------------------------
// Epoch snapshots

export interface SnapshotMeta {
  runId: string;
  expert: number;
  epoch: number;
  parameters: number;
  dtype: SnapshotDtype;
  configDigest: string;
}

const intString = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/)
  .transform(Number);

const snapshotMetaSchema = z.object({
  format: z.literal(SNAPSHOT_FORMAT),
  version: z.literal(FORMAT_VERSION),
  runId: z.string(),
  expert: intString,
  epoch: intString,
  parameters: intString,
  dtype: z.enum(['float32', 'float16']),
  configDigest: z.string(),
});

export function encodeSnapshot(params: Float32Array, meta: SnapshotMeta): Uint8Array {
  if (params.length !== meta.parameters) {
    throw new Error(`encodeSnapshot: expected ${meta.parameters} parameters, got ${params.length}`);
  }
  return encodeSafetensors(
    { [PARAMS_TENSOR]: { dtype: SAFETENSORS_DTYPE[meta.dtype], shape: [params.length], data: params } },
    {
      format: SNAPSHOT_FORMAT,
      version: FORMAT_VERSION,
      runId: meta.runId,
      expert: String(meta.expert),
      epoch: String(meta.epoch),
      parameters: String(meta.parameters),
      dtype: meta.dtype,
      configDigest: meta.configDigest,
    },
  );
}

export interface DecodedSnapshot {
  /** float32 values (float16 snapshots are widened exactly). */
  params: Float32Array;
  meta: SnapshotMeta;
}

/** Decodes and checks one snapshot: the params tensor, its dtype, its length and the metadata agree. */
export function decodeSnapshot(bytes: Uint8Array, key: string, location: string): DecodedSnapshot {
  const { tensors, metadata } = decodeSafetensors(
    bytes,
    `expert snapshot ${JSON.stringify(key)} in ${location}`,
  );
  const parsed = snapshotMetaSchema.safeParse(metadata);
  if (!parsed.success) {
    throw new ArtifactFormatError(
      key,
      location,
      `expert snapshot metadata (${SNAPSHOT_FORMAT} v${FORMAT_VERSION})`,
      z.prettifyError(parsed.error),
      {
        cause: parsed.error,
      },
    );
  }
  const { format: _f, version: _v, ...meta } = parsed.data;
  const params = paramsTensor(tensors, key, location, SAFETENSORS_DTYPE[meta.dtype], meta.parameters);
  return { params, meta };
}

function paramsTensor(
  tensors: ReturnType<typeof decodeSafetensors>['tensors'],
  key: string,
  location: string,
  dtype: 'F32' | 'F16',
  parameters: number,
): Float32Array {
  const names = Object.keys(tensors);
  const t = tensors[PARAMS_TENSOR];
  if (t === undefined || names.length !== 1) {
    throw new ArtifactFormatError(
      key,
      location,
      `exactly one tensor '${PARAMS_TENSOR}'`,
      `tensors [${names.join(', ')}]`,
    );
  }
  if (t.dtype !== dtype || t.shape.length !== 1 || t.shape[0] !== parameters) {
    throw new ArtifactFormatError(
      key,
      location,
      `'${PARAMS_TENSOR}' ${dtype} [${parameters}] (as its metadata says)`,
      `${t.dtype} [${t.shape.join(', ')}]`,
    );
  }
  return t.data as Float32Array;
}

// ---------------------------------------------------------------------------------------------------------------
// Resume state

export interface EpochRecord {
  epoch: number;
  /** Mean training cross-entropy over the epoch, at each step's starting point. */
  loss: number;
  /** Training accuracy over the epoch (augmented batches, starting points). */
  accuracy: number;
}

export interface ExpertState {
  runId: string;
  expert: number;
  /** The last finished epoch (0: only the initialisation). */
  epoch: number;
  configDigest: string;
  /** float32 parameters after `epoch`. */
  params: Float32Array;
  /** The expert's generator after `epoch`. */
  rng: RngState;
  history: EpochRecord[];
}

const jsonString = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'invalid JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

const uint32 = z.number().int().min(0).max(0xffffffff);
const historySchema = z.array(
  z.strictObject({ epoch: z.number().int().min(1), loss: z.number(), accuracy: z.number() }),
);

const stateMetaSchema = z.object({
  format: z.literal(STATE_FORMAT),
  version: z.literal(FORMAT_VERSION),
  runId: z.string(),
  expert: intString,
  epoch: intString,
  parameters: intString,
  configDigest: z.string(),
  rng: jsonString(z.tuple([uint32, uint32, uint32, uint32])),
  history: jsonString(historySchema),
});

export function encodeState(state: ExpertState): Uint8Array {
  return encodeSafetensors(
    { [PARAMS_TENSOR]: { dtype: 'F32', shape: [state.params.length], data: state.params } },
    {
      format: STATE_FORMAT,
      version: FORMAT_VERSION,
      runId: state.runId,
      expert: String(state.expert),
      epoch: String(state.epoch),
      parameters: String(state.params.length),
      configDigest: state.configDigest,
      rng: JSON.stringify(state.rng),
      history: JSON.stringify(state.history),
    },
  );
}

export function decodeState(bytes: Uint8Array, key: string, location: string): ExpertState {
  const { tensors, metadata } = decodeSafetensors(
    bytes,
    `expert state ${JSON.stringify(key)} in ${location}`,
  );
  const parsed = stateMetaSchema.safeParse(metadata);
  if (!parsed.success) {
    throw new ArtifactFormatError(
      key,
      location,
      `expert state metadata (${STATE_FORMAT} v${FORMAT_VERSION})`,
      z.prettifyError(parsed.error),
      {
        cause: parsed.error,
      },
    );
  }
  const m = parsed.data;
  const params = paramsTensor(tensors, key, location, 'F32', m.parameters);
  return {
    runId: m.runId,
    expert: m.expert,
    epoch: m.epoch,
    configDigest: m.configDigest,
    params,
    rng: m.rng,
    history: m.history,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Done marker

export const expertManifestSchema = z
  .strictObject({
    format: z.literal(COMPLETE_FORMAT),
    version: z.literal(FORMAT_VERSION),
    runId: z.string(),
    expert: z.number().int().min(0),
    /** Snapshots exist for epochs 0..lastEpoch. */
    lastEpoch: z.number().int().min(1),
    parameters: z.number().int().min(1),
    dtype: z.enum(['float32', 'float16']),
    configDigest: z.string(),
    recipe: z.strictObject({
      model: z.strictObject({
        channels: z.number().int(),
        width: z.number().int(),
        depth: z.number().int(),
        imageSize: z.number().int(),
        numClasses: z.number().int(),
      }),
      batchSize: z.number().int(),
      lr: z.number(),
      gsam: z.strictObject({ rho: z.number(), alpha: z.number(), adaptive: z.boolean() }).nullable(),
      dsa: z.boolean(),
      seed: z.number().int(),
      snapshotDtype: z.enum(['float32', 'float16']),
      trainImages: z.number().int(),
      dataDigest: z.string().nullable(),
    }),
    history: historySchema,
  })
  .meta({ title: `an expert done marker (${COMPLETE_FORMAT} v${FORMAT_VERSION})` });

export type ExpertManifest = z.infer<typeof expertManifestSchema>;
