/**
 * Builds the request that starts a run, outside the workflow sandbox (hashing needs node:crypto): the
 * config hash and the data's content hash give the run id, so the same data and config name the same run.
 */
import { digestOf } from '../config/digest.ts';
import { pipelineSchema, type PipelineOptions } from '../config/pipeline.ts';
import type { RunConfig } from '../config/schema.ts';
import type { RunData } from '../method/pipeline/data.ts';
import { runWorkflowId } from '../../workflows/ids.ts';
import type { RunRequest } from '../../workflows/types.ts';

/** What a trigger knows before the data is hashed (a schedule stores exactly this). */
export interface RunIntent {
  preset: string;
  config: RunConfig;
  store: string;
  pipeline?: Partial<PipelineOptions>;
}

/**
 * The identity of what a run computes and where it keeps it: the config and the artifact store. The same
 * config into another store is another run (its artifacts are there); the scheduling options are not part
 * of it (they never change a result).
 */
export const configHashOf = (config: RunConfig, store: string): string => digestOf({ config, store });

export function runRequest(intent: RunIntent, data: RunData): RunRequest {
  const configHash = configHashOf(intent.config, intent.store);
  const datasetHash = data.dataset.manifest.contentHash;
  return {
    runId: runWorkflowId(configHash, datasetHash),
    preset: intent.preset,
    config: intent.config,
    store: intent.store,
    datasetHash,
    datasetName: data.dataset.manifest.name,
    configHash,
    pipeline: pipelineSchema.parse(intent.pipeline ?? {}),
  };
}
