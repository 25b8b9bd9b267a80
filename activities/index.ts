/**
 * Every activity of the pipeline, built over the worker's dependencies. The workflows use the type
 * (`Activities`) for their typed proxies; workers register the object.
 */
import { auditAndReportActivity } from './audit.ts';
import type { ActivityDeps } from './deps.ts';
import { inspectDataActivity } from './data-check.ts';
import { distillSliceActivity } from './distill.ts';
import { evaluateNetworkActivity, planEvaluationActivity, recordEvaluationActivity } from './evaluate.ts';
import { trainExpertActivity } from './experts.ts';
import { prepareRunActivity } from './prepare.ts';
import { publishRunActivity } from './publish.ts';

export type { ActivityDeps } from './deps.ts';

export function createActivities(deps: ActivityDeps) {
  return {
    // Light: I/O and bookkeeping, on the CPU queue.
    prepareRun: prepareRunActivity(deps),
    publishRun: publishRunActivity(deps),
    inspectData: inspectDataActivity(deps),
    planEvaluation: planEvaluationActivity(deps),
    recordEvaluation: recordEvaluationActivity(deps),
    // Heavy: tensor work, on the GPU queue.
    trainExpert: trainExpertActivity(deps),
    distillSlice: distillSliceActivity(deps),
    evaluateNetwork: evaluateNetworkActivity(deps),
    auditAndReport: auditAndReportActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
