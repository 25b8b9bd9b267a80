import { runConfigSchema, validate } from '../shared/config/index.ts';
import { putJson } from '../shared/storage/json.ts';
import type { PreparedRun, RunRequest } from '../workflows/types.ts';
import type { ActivityDeps } from './deps.ts';
import { adapt } from './failures.ts';
import { runDataFor } from './run-data.ts';

/** `<runId>/run.json`: the request and the data it runs on, written before any work (lineage). */
export const runRecordKey = (runId: string): string => `${runId}/run.json`;

/** Validates the config, loads and hashes the data, and records what the run is about to do. */
export function prepareRunActivity(deps: ActivityDeps) {
  return async function prepareRun(req: RunRequest): Promise<PreparedRun> {
    return await adapt(async () => {
      validate(runConfigSchema, req.config, `the config of run ${req.runId}`);
      const store = await deps.openStore(req.store);
      const { dataset } = await runDataFor(req.config, req.datasetHash, req.runId);
      const m = dataset.manifest;
      const manifestKey = runRecordKey(req.runId);
      await putJson(store, manifestKey, { request: req, dataset: m, code: deps.codeVersion });
      return {
        datasetHash: m.contentHash,
        datasetName: m.name,
        counts: { train: dataset.train.n, test: dataset.test.n, val: dataset.val?.n ?? 0 },
        manifestKey,
      };
    });
  };
}
