import type { PublishGateConfig } from '../../config/audit.ts';
import type { AuditResult } from './audit.ts';

/**
 * A run the publish gate refused: not retryable (the same set would be refused again). The message names every
 * flagged image and the figures; `reasons` lists them one per line for callers that show them separately.
 */
export class PublishGateError extends Error {
  override name = 'PublishGateError';
  readonly nonRetryable = true;
  /** The pipeline's activities read this (activities/failures.ts): a refusal is never retried. */
  readonly retryable = false;
  constructor(
    message: string,
    readonly reasons: string[],
  ) {
    super(message);
  }
}

/** Why the gate would refuse `audit` (empty when it may be published). */
export function gateReasons(audit: AuditResult, gate: PublishGateConfig): string[] {
  const reasons: string[] = [];
  const { nearCopies, membership } = audit;
  if (gate.refuseNearCopies && nearCopies.flagged.length > 0) {
    const names = audit.dataset.classNames;
    const list = nearCopies.flagged
      .map((i) => {
        const r = nearCopies.images[i]!;
        return `#${i} (class ${names[r.label] ?? r.label}: SSIM ${r.nearestSsim.ssim.toFixed(3)} with real training image ${r.nearestSsim.row})`;
      })
      .join(', ');
    reasons.push(
      `${nearCopies.flagged.length} of ${audit.set.images} synthetic images are near-copies of real training images (SSIM >= ${nearCopies.threshold}): ${list}`,
    );
  }
  if (membership === null) {
    reasons.push(
      'the membership-inference audit did not run (audit.membership.enabled is false), so the AUC bound cannot be checked',
    );
  } else if (membership.synthetic.loss.auc > gate.maxAuc) {
    const f = membership.synthetic.loss;
    reasons.push(
      `the loss-based membership attack on the synthetic-trained network reaches ROC AUC ${f.auc.toFixed(3)} > ${gate.maxAuc} (TPR at 1% FPR ${(100 * f.tprAt1Fpr).toFixed(1)}%; ${membership.members} members, ${membership.nonMembers} non-members)`,
    );
  }
  return reasons;
}

/**
 * The publish gate: throws `PublishGateError` when the gate is enabled and the audit flags a near-copy (with
 * `refuseNearCopies`) or the membership attack's AUC on the synthetic-trained network exceeds `maxAuc`. Returns
 * normally otherwise (always when the gate is disabled).
 */
export function assertPublishable(audit: AuditResult, gate: PublishGateConfig): void {
  if (!gate.enabled) return;
  const reasons = gateReasons(audit, gate);
  if (reasons.length === 0) return;
  throw new PublishGateError(
    `publish gate: run '${audit.runId}' stage '${audit.stage}' (${audit.set.kind} set, ${audit.set.images} images) is not published:\n- ${reasons.join('\n- ')}\n(audit: ${audit.key}; the gate is audit.gate in the run config)`,
    reasons,
  );
}
