/**
 * Re-distillation when data arrives: re-hash the data and start a run only if that data and config have not
 * been run (or the earlier run failed). Schedules run this on an interval; `hoptm data-arrived` runs it at
 * once. Runs of one config never overlap: while one is in progress, a check skips and says so.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild, WorkflowIdReusePolicy } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { RunIntent } from '../shared/temporal/run-request.ts';
import { runSearchAttributes } from '../shared/temporal/search-attributes.ts';
import { distillationRun } from './distillation-run.ts';
import { NON_RETRYABLE, type DataCheckResult } from './types.ts';

// On the check workflow's own task queue (the CPU queue).
const { inspectData } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE] },
});

export async function dataCheck(intent: RunIntent): Promise<DataCheckResult> {
  const { request, openRun } = await inspectData(intent);
  const result = (action: DataCheckResult['action'], reason: string): DataCheckResult => ({
    action,
    reason,
    runId: request.runId,
    datasetHash: request.datasetHash,
  });
  if (openRun !== null && openRun !== request.runId)
    return result(
      'skipped',
      `run ${openRun} of this config is still in progress; the next check will see the new data`,
    );
  try {
    await startChild(distillationRun, {
      workflowId: request.runId,
      args: [request],
      taskQueue: request.pipeline.taskQueues.cpu,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
      workflowTaskTimeout: '1 minute',
      typedSearchAttributes: runSearchAttributes(request),
    });
    return result(
      'started',
      `dataset ${request.datasetName} content ${request.datasetHash.slice(0, 12)} is new for this config`,
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return result(
      'skipped',
      openRun === request.runId
        ? `run ${request.runId} for this data is already in progress`
        : `data unchanged: run ${request.runId} already distilled content ${request.datasetHash.slice(0, 12)}`,
    );
  }
}
