/** The privacy audit of a published set and the publish gate (docs/privacy.md). */
export {
  auditRun,
  auditKey,
  auditImagesKey,
  type AuditResult,
  type AuditOptions,
  type MembershipFigures,
  type TargetFigures,
  type SimilarityFigures,
  type ClassSimilarity,
} from './audit.ts';
export { assertPublishable, gateReasons, PublishGateError } from './gate.ts';
export { nearestNeighbours, summarise, type NearestRecord, type Summary } from './nearest.ts';
export { ssim, toPixels, squaredL2 } from './similarity.ts';
export {
  rocAuc,
  rocCurve,
  tprAtFpr,
  perExampleLoss,
  attackFigures,
  type AttackFigures,
} from './membership.ts';
