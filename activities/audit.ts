import { publishStage } from '../shared/method/pipeline/publish.ts';
import { stepSignal } from '../workflows/messages.ts';
import type { AuditOutcome, RunRequest } from '../workflows/types.ts';
import type { ActivityDeps } from './deps.ts';
import { MAIN_STAGE } from './distill.ts';
import { adapt } from './failures.ts';
import { cancelOrDrain, reporter } from './progress.ts';
import { runDataFor } from './run-data.ts';

/**
 * The privacy audit (near-copies, membership inference) of the published set, the publish gate and the run
 * report (docs/privacy.md). Tensor work, so on the GPU queue. A refusing gate fails the run non-retryably
 * with a message naming the flagged images and figures; the report is written either way.
 */
export function auditAndReportActivity(deps: ActivityDeps) {
  return async function auditAndReport(req: RunRequest): Promise<AuditOutcome> {
    return await adapt(async () => {
      const report = reporter(deps.progressIntervalSeconds);
      const store = await deps.openStore(req.store);
      const data = await runDataFor(req.config, req.datasetHash, req.runId);
      const r = await publishStage(req.config, data, store, req.runId, MAIN_STAGE, {
        codeVersion: deps.codeVersion,
        signal: cancelOrDrain(deps.drain),
        onStep: (step) => {
          report.heartbeat({ step });
          report.signal(stepSignal, [step], true);
        },
      });
      const m = r.audit?.membership;
      return {
        reportKey: r.reportKey,
        publishKey: r.publishKey,
        auditKey: r.audit?.key ?? null,
        flagged: r.audit?.nearCopies.flagged.length ?? null,
        lossAttackAuc: m ? { synthetic: m.synthetic.loss.auc, real: m.real.loss.auc } : null,
      };
    });
  };
}
