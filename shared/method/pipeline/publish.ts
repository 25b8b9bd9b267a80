import type { RunConfig } from '../../config/index.ts';
import { putJson } from '../../storage/json.ts';
import type { ArtifactStore } from '../../storage/store.ts';
import { auditRun, type AuditResult } from '../audit/audit.ts';
import { gateReasons, PublishGateError } from '../audit/gate.ts';
import { writeRunReport, reportKey } from '../../report/report.ts';
import type { PublishRecord } from '../../report/load.ts';
import type { RunData } from './data.ts';
import { resultsPrefix } from './keys.ts';
import { SET_FILES } from './outputs.ts';

export interface PublishStageResult {
  published: boolean;
  audit: AuditResult | null;
  reportKey: string;
  publishKey: string;
}

export interface PublishStageOptions {
  /** The code revision, recorded in the report's lineage. */
  codeVersion?: string;
  signal?: AbortSignal;
  onStep?(message: string): void | Promise<void>;
}

export const publishKey = (runId: string, stage: string): string =>
  `${resultsPrefix(runId, stage)}/publish.json`;

/**
 * The publish step: audits the stage's published set (when `audit.enabled`), applies the publish gate
 * (`audit.gate`), records the verdict in results/<stage>/publish.json and writes the run report (which shows the
 * verdict). When the gate refuses, publish.json says `published: false` with the reasons, the report is still
 * written (for whoever must decide), and a non-retryable `PublishGateError` is thrown.
 */
export async function publishStage(
  cfg: RunConfig,
  data: RunData,
  store: ArtifactStore,
  runId: string,
  stage: string,
  opts: PublishStageOptions = {},
): Promise<PublishStageResult> {
  const gate = cfg.audit.gate;
  const audit = cfg.audit.enabled
    ? await auditRun(cfg, data, store, runId, stage, { signal: opts.signal, onStep: opts.onStep })
    : null;
  const reasons = !gate.enabled
    ? []
    : audit === null
      ? ['the privacy audit is disabled (audit.enabled is false), so the gate cannot check the set']
      : gateReasons(audit, gate);
  const prefix = resultsPrefix(runId, stage);
  const record: PublishRecord = {
    published: reasons.length === 0,
    reasons,
    gate,
    audit: audit?.key ?? null,
    report: reportKey(runId, stage),
    sets: [`${prefix}/${SET_FILES.published.tensors}`, `${prefix}/${SET_FILES.final.tensors}`],
    at: new Date().toISOString(),
  };
  const key = publishKey(runId, stage);
  await putJson(store, key, record);
  await opts.onStep?.('publish: writing the run report');
  const report = await writeRunReport(store, runId, stage, { codeVersion: opts.codeVersion });
  if (!record.published) {
    throw new PublishGateError(
      `publish gate: run '${runId}' stage '${stage}' is not published:\n- ${reasons.join('\n- ')}\n(audit: ${audit?.key ?? 'none'}; report: ${report}; the gate is audit.gate in the run config)`,
      reasons,
    );
  }
  return { published: true, audit, reportKey: report, publishKey: key };
}
