import { z } from 'zod';
import type { ArtifactStore } from '../storage/store.ts';
import { resultsPrefix } from '../method/pipeline/keys.ts';
import type { AuditResult } from '../method/audit/audit.ts';
import { auditImagesKey, auditKey } from '../method/audit/audit.ts';
import { loadPublishedSet, type PublishedSet } from '../method/pipeline/evaluate.ts';
import { decodeSafetensors } from '../storage/safetensors.ts';

/** One distillation iteration's line of metrics.jsonl. */
const iterationSchema = z.looseObject({
  kind: z.literal('iteration'),
  iteration: z.number(),
  paramLoss: z.number(),
  shapeLoss: z.number(),
  loss: z.number(),
  utilization: z.number(),
  lr: z.number(),
  ms: z.number(),
});
const evaluationLineSchema = z.looseObject({
  kind: z.literal('evaluation'),
  iteration: z.number(),
  split: z.string(),
  accuracy: z.number(),
  seed: z.number().optional(),
});
const headerSchema = z.looseObject({
  kind: z.literal('run'),
  config: z.looseObject({ name: z.string() }),
  node: z.string().optional(),
  dataset: z.looseObject({
    name: z.string(),
    contentHash: z.string(),
    classNames: z.array(z.string()),
    numClasses: z.number(),
    preprocess: z.looseObject({
      normalisation: z.object({ mean: z.array(z.number()), std: z.array(z.number()) }),
    }),
  }),
  experts: z.array(z.number()).optional(),
});

const resultSchema = z.looseObject({
  mean: z.number(),
  std: z.number(),
  val: z.object({ mean: z.number(), std: z.number() }).optional(),
  runs: z.array(z.looseObject({ testAccuracy: z.number() })),
  protocol: z.looseObject({
    lr: z.number(),
    lrSource: z.string(),
    epochs: z.number(),
    epochsRun: z.number(),
    runs: z.number(),
    batchSize: z.number(),
    momentum: z.number(),
    weightDecay: z.number(),
    augmentation: z.string(),
    seed: z.number(),
    metric: z.string(),
    std: z.string(),
    selection: z.string(),
  }),
});
export type ResultFigures = z.infer<typeof resultSchema>;
const setInfoSchema = z.object({
  kind: z.enum(['selected', 'final']),
  iteration: z.number().nullable(),
  lr: z.number(),
  selection: z.object({ split: z.string(), accuracy: z.number() }).nullable(),
});
const evaluationSchema = z.looseObject({
  synthetic: resultSchema,
  final: resultSchema.optional(),
  sets: z.object({ synthetic: setInfoSchema, final: setInfoSchema }).optional(),
  randomReal: resultSchema.nullable(),
  fullReal: resultSchema.nullable().optional(),
  dataset: z.string(),
});
export type EvaluationFigures = z.infer<typeof evaluationSchema>;

/** The audit as stored: checked for the fields the report reads, the rest kept as written. */
const auditSchema = z.custom<AuditResult>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    Reflect.get(v, 'kind') === 'hoptm-privacy-audit' &&
    typeof Reflect.get(v, 'nearCopies') === 'object',
  { message: "expected an audit.json written by auditRun (kind 'hoptm-privacy-audit')" },
);

/** The publish record written by the publish step (results/<stage>/publish.json). */
export const publishRecordSchema = z.strictObject({
  published: z.boolean(),
  reasons: z.array(z.string()),
  gate: z.object({ enabled: z.boolean(), refuseNearCopies: z.boolean(), maxAuc: z.number() }),
  audit: z.string().nullable(),
  report: z.string(),
  sets: z.array(z.string()),
  at: z.string(),
});
export type PublishRecord = z.infer<typeof publishRecordSchema>;

export interface ReportInputs {
  runId: string;
  stage: string;
  header: z.infer<typeof headerSchema>;
  iterations: z.infer<typeof iterationSchema>[];
  evaluations: z.infer<typeof evaluationLineSchema>[];
  published: PublishedSet;
  final: PublishedSet | null;
  evaluation: EvaluationFigures | null;
  audit: AuditResult | null;
  auditImages: { initial: Float32Array | null; nearest: Float32Array | null };
  publish: PublishRecord | null;
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

async function optionalJson<T>(store: ArtifactStore, key: string, schema: z.ZodType<T>): Promise<T | null> {
  if (!(await store.exists(key))) return null;
  const parsed = schema.safeParse(JSON.parse(text(await store.get(key))));
  if (!parsed.success) throw new Error(`report: ${key}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Everything a run report shows, read from the stage's results (metrics, sets, evaluation, audit). */
export async function loadReportInputs(
  store: ArtifactStore,
  runId: string,
  stage: string,
): Promise<ReportInputs> {
  const prefix = resultsPrefix(runId, stage);
  const metricsKey = `${prefix}/metrics.jsonl`;
  if (!(await store.exists(metricsKey)))
    throw new Error(`report: run '${runId}' stage '${stage}' has no ${metricsKey} (distil it first)`);
  const lines = text(await store.get(metricsKey))
    .trim()
    .split('\n')
    .map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch (err) {
        throw new Error(`report: ${metricsKey} line ${i + 1} is not JSON`, { cause: err });
      }
    });
  const header = headerSchema.safeParse(lines[0]);
  if (!header.success) throw new Error(`report: ${metricsKey} line 1: ${z.prettifyError(header.error)}`);
  const iterations = lines.flatMap((l) => {
    const r = iterationSchema.safeParse(l);
    return r.success ? [r.data] : [];
  });
  const evaluations = lines.flatMap((l) => {
    const r = evaluationLineSchema.safeParse(l);
    return r.success ? [r.data] : [];
  });
  const published = await loadPublishedSet(store, runId, stage);
  const final =
    published.kind === 'selected' && (await store.exists(`${prefix}/synthetic-final.safetensors`))
      ? await loadPublishedSet(store, runId, stage, 'final')
      : null;
  const audit = await optionalJson(store, auditKey(runId, stage), auditSchema);
  let auditImages: ReportInputs['auditImages'] = { initial: null, nearest: null };
  if (audit !== null && (await store.exists(auditImagesKey(runId, stage)))) {
    const key = auditImagesKey(runId, stage);
    const { tensors } = decodeSafetensors(await store.get(key), key);
    auditImages = {
      initial: tensors.initial ? Float32Array.from(tensors.initial.data as ArrayLike<number>) : null,
      nearest: tensors.nearest ? Float32Array.from(tensors.nearest.data as ArrayLike<number>) : null,
    };
  }
  return {
    runId,
    stage,
    header: header.data,
    iterations,
    evaluations,
    published,
    final,
    evaluation: await optionalJson(store, `${prefix}/evaluation.json`, evaluationSchema),
    audit,
    auditImages,
    publish: await optionalJson(store, `${prefix}/publish.json`, publishRecordSchema),
  };
}
