import type { EvaluationResult } from '../shared/method/evaluate/protocol.ts';
import {
  evaluateTask,
  evaluationTasks,
  recordStageEvaluation,
  type EvaluationPart,
  type EvaluationTask,
} from '../shared/method/pipeline/evaluate.ts';
import type { EvaluationOutcome, RunRequest } from '../workflows/types.ts';
import type { ActivityDeps } from './deps.ts';
import { MAIN_STAGE } from './distill.ts';
import { adapt } from './failures.ts';
import { cancelOrDrain, reporter } from './progress.ts';
import { runDataFor } from './run-data.ts';

/** The evaluation fan-out: one task per network of the published set, the final iterate and the baseline. */
export function planEvaluationActivity(deps: ActivityDeps) {
  return async function planEvaluation(req: RunRequest): Promise<EvaluationTask[]> {
    return await adapt(async () =>
      evaluationTasks(req.config, await deps.openStore(req.store), req.runId, MAIN_STAGE, { baseline: true }),
    );
  };
}

/**
 * Trains and measures one evaluation network (reference protocol). Retried from the start if interrupted:
 * its seed depends only on its index, so a retry gives the same figures.
 */
export function evaluateNetworkActivity(deps: ActivityDeps) {
  return async function evaluateNetwork(req: RunRequest, task: EvaluationTask): Promise<EvaluationResult> {
    return await adapt(async () => {
      const report = reporter(deps.progressIntervalSeconds);
      const store = await deps.openStore(req.store);
      const data = await runDataFor(req.config, req.datasetHash, req.runId);
      return await evaluateTask(req.config, data, store, req.runId, MAIN_STAGE, task, {
        signal: cancelOrDrain(deps.drain),
        onEpoch: (network, epoch) => report.heartbeat({ part: task.part, network, epoch }),
      });
    });
  };
}

/** Joins the networks' figures into results/main/evaluation.json. */
export function recordEvaluationActivity(deps: ActivityDeps) {
  return async function recordEvaluation(
    req: RunRequest,
    results: { part: EvaluationPart; result: EvaluationResult }[],
  ): Promise<EvaluationOutcome> {
    return await adapt(async () => {
      const store = await deps.openStore(req.store);
      const r = await recordStageEvaluation(store, req.runId, MAIN_STAGE, req.datasetName, results);
      const figures = (e: EvaluationResult): { mean: number; std: number } => ({ mean: e.mean, std: e.std });
      return {
        key: r.key,
        synthetic: figures(r.synthetic),
        final: r.final ? figures(r.final) : null,
        randomReal: r.randomReal && figures(r.randomReal),
      };
    });
  };
}
