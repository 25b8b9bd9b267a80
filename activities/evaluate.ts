import { evaluateStage } from '../shared/method/pipeline/evaluate.ts';
import type { EvaluationOutcome, RunRequest } from '../workflows/types.ts';
import type { ActivityDeps } from './deps.ts';
import { MAIN_STAGE } from './distill.ts';
import { adapt } from './failures.ts';
import { cancelOrDrain, reporter } from './progress.ts';
import { runDataFor } from './run-data.ts';

/**
 * Evaluates the published set with the reference protocol beside the random-real baseline and stores
 * results/main/evaluation.json. Retried from the start if interrupted: the figures are seeded, so a retry
 * gives the same numbers.
 */
export function evaluateRunActivity(deps: ActivityDeps) {
  return async function evaluateRun(req: RunRequest): Promise<EvaluationOutcome> {
    return await adapt(async () => {
      const report = reporter(deps.progressIntervalSeconds);
      const store = await deps.openStore(req.store);
      const data = await runDataFor(req.config, req.datasetHash, req.runId);
      const r = await evaluateStage(req.config, data, store, req.runId, MAIN_STAGE, {
        baseline: true,
        hooks: {
          signal: cancelOrDrain(deps.drain),
          onEpoch: (run, epoch) => report.heartbeat({ run, epoch }),
        },
      });
      return {
        key: r.key,
        synthetic: { mean: r.synthetic.mean, std: r.synthetic.std },
        randomReal: r.randomReal && { mean: r.randomReal.mean, std: r.randomReal.std },
      };
    });
  };
}
