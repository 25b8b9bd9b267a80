/**
 * Reading expert trajectories back (the distillation side, method.md A.3): the finished experts of a run, and
 * chosen epochs of one expert as float32 flat vectors. Every failure names the object's key.
 */
import { ArtifactFormatError } from '../../storage/errors.ts';
import { getJson } from '../../storage/json.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import { decodeSnapshot, expertManifestSchema, type ExpertManifest } from './format.ts';
import { completeKey, expertPrefix, parseCompleteKey, snapshotKey } from './keys.ts';

export interface LoadExpertPointsOptions {
  /** The parameter count P every snapshot must have (the distillation model's); checked when given. */
  parameters?: number;
}

/**
 * The float32 parameters of expert k at the given epochs, in the order asked (float16 snapshots widened exactly).
 * Throws `ArtifactNotFoundError` for a missing snapshot, `SafetensorsFormatError` for a truncated or corrupt one,
 * and `ArtifactFormatError` for one of the wrong expert, epoch or parameter count, or holding NaN or Inf.
 */
export async function loadExpertPoints(
  store: ArtifactStore,
  runId: string,
  expert: number,
  epochs: readonly number[],
  options: LoadExpertPointsOptions = {},
): Promise<Float32Array[]> {
  let parameters = options.parameters;
  const points: Float32Array[] = [];
  for (const epoch of epochs) {
    const key = snapshotKey(runId, expert, epoch);
    const { params, meta } = decodeSnapshot(await store.get(key), key, store.location);
    const fail = (expected: string, found: string): ArtifactFormatError =>
      new ArtifactFormatError(key, store.location, expected, found);
    if (meta.runId !== runId || meta.expert !== expert || meta.epoch !== epoch) {
      throw fail(
        `the snapshot of run ${JSON.stringify(runId)} expert ${expert} epoch ${epoch}`,
        `run ${JSON.stringify(meta.runId)} expert ${meta.expert} epoch ${meta.epoch}`,
      );
    }
    if (parameters !== undefined && params.length !== parameters) {
      const why = options.parameters !== undefined ? 'the model' : `epoch ${epochs[0]} of this expert`;
      throw fail(`${parameters} parameters (as ${why} has)`, `${params.length} parameters`);
    }
    parameters = params.length;
    const bad = params.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw fail('finite parameters', `${params[bad]} at parameter ${bad}`);
    points.push(params);
  }
  return points;
}

/** The done markers of a run's finished experts, by expert index. */
export async function listCompleteExperts(store: ArtifactStore, runId: string): Promise<ExpertManifest[]> {
  const prefix = expertPrefix(runId, 0).replace(/\/0$/, '');
  const experts = (await store.list(prefix))
    .map((key) => parseCompleteKey(runId, key))
    .filter((k): k is number => k !== undefined);
  const manifests: ExpertManifest[] = [];
  for (const k of experts.sort((a, b) => a - b)) {
    const key = completeKey(runId, k);
    const manifest = await getJson(store, key, expertManifestSchema);
    if (manifest.runId !== runId || manifest.expert !== k) {
      throw new ArtifactFormatError(
        key,
        store.location,
        `the done marker of run ${JSON.stringify(runId)} expert ${k}`,
        `run ${JSON.stringify(manifest.runId)} expert ${manifest.expert}`,
      );
    }
    manifests.push(manifest);
  }
  return manifests;
}
