import { listCompleteExperts } from '../shared/method/experts/trajectory.ts';
import { resultsPrefix } from '../shared/method/pipeline/keys.ts';
import { putJson } from '../shared/storage/json.ts';
import type {
  AuditOutcome,
  EvaluationOutcome,
  PreparedRun,
  PublishedRun,
  RunPhase,
  RunRequest,
} from '../workflows/types.ts';
import type { ActivityDeps } from './deps.ts';
import { MAIN_STAGE } from './distill.ts';
import { adapt } from './failures.ts';

/** `<runId>/manifest.json`: the published run, with everything needed to say where it came from. */
export const runManifestKey = (runId: string): string => `${runId}/manifest.json`;

export interface PublishInput {
  prepared: PreparedRun;
  evaluation: EvaluationOutcome;
  audit: AuditOutcome;
  timings: Partial<Record<RunPhase, number>>;
}

/**
 * Writes the run manifest with its lineage: the dataset hash, the config and its hash, the code version,
 * the expert set (with each expert's recipe digest), the outputs (with the report, the audit and the
 * publish verdict), the figures and the timings. Written last,
 * so its presence means the run is complete; a retried publish writes the same content.
 */
export function publishRunActivity(deps: ActivityDeps) {
  return async function publishRun(req: RunRequest, input: PublishInput): Promise<PublishedRun> {
    return await adapt(async () => {
      const store = await deps.openStore(req.store);
      const experts = await listCompleteExperts(store, req.runId);
      const resultKeys = await store.list(resultsPrefix(req.runId, MAIN_STAGE));
      const manifestKey = runManifestKey(req.runId);
      await putJson(store, manifestKey, {
        kind: 'hoptm-run',
        runId: req.runId,
        store: store.location,
        lineage: {
          dataset: {
            name: input.prepared.datasetName,
            contentHash: input.prepared.datasetHash,
            counts: input.prepared.counts,
            record: input.prepared.manifestKey,
          },
          preset: req.preset,
          config: req.config,
          configHash: req.configHash,
          code: deps.codeVersion,
          experts: experts.map((e) => ({
            expert: e.expert,
            configDigest: e.configDigest,
            lastEpoch: e.lastEpoch,
          })),
        },
        outputs: resultKeys,
        report: input.audit.reportKey,
        publish: input.audit.publishKey,
        audit: input.audit.auditKey,
        metrics: input.evaluation,
        privacy: { flagged: input.audit.flagged, lossAttackAuc: input.audit.lossAttackAuc },
        timings: input.timings,
      });
      return { manifestKey, resultKeys };
    });
  };
}
